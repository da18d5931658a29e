"""Domain adapters: percepts into planning problems, plan steps into environment actions.

One adapter per shipped domain; a config names it.
"""
