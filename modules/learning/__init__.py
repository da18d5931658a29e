"""Learning modules: what an agent keeps from its experience."""
