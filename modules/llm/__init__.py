"""LLM reasoning: chat models named in YAML (LangChain), typed outputs with repair.

The modules that use them translate goals, decompose tasks into subgoals, rank actions and
reflect on episodes.

Requires the ``llm`` extra (LangChain). Nothing here evaluates model output as code: answers are
JSON parsed into pydantic models and checked against the environment's objects and actions.
"""
