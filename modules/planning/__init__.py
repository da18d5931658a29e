"""Symbolic planning: PDDL through unified-planning.

Our own timeouts, a plan cache and execution monitoring; see
:mod:`modules.planning.planner_module` for the module itself.
"""
