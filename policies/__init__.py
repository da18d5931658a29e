"""Decision procedures: how propose / evaluate / select are done.

Registered by name (entry-point group ``cogos.policies``); see :mod:`cogos.policy`.
"""
