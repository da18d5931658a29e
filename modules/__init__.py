"""Pluggable capabilities: perception, retrieval, planning, LLM reasoning, learning.

Each module is registered by name (entry-point group ``cogos.modules``) and configured in YAML;
see :mod:`cogos.module` for the protocol.
"""
