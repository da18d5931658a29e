"""What an LLM may talk about: the objects of the world and the domain's predicates."""

from __future__ import annotations

from memory.working import WorkingMemory

_TYPE_PREDICATES = ("type", "is")


def world_objects(wm: WorkingMemory) -> dict[str, str]:
    """Object name -> type, from the task's static facts and the current percept.

    A ``("type", obj, kind)`` fact gives the type; any other constant that appears in a fact is
    an object of unknown type (``object``).
    """
    objects: dict[str, str] = {}
    for atom in (*wm.task_facts, *wm.percept.facts):
        if atom[0] in _TYPE_PREDICATES and len(atom) == 3:
            objects[atom[1]] = atom[2]
            continue
        for arg in atom[1:]:
            if not arg.isdigit():
                objects.setdefault(arg, "object")
    return objects
