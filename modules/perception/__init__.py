"""Perception modules: observation -> percept (facts, text, later an embedding)."""
