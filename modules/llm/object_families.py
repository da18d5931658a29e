"""Objects a task never names, learnt from the worked example's naming: one of each per owner.

"You control 3 robots, each robot has a left gripper and a right gripper." names robot1 to
robot3 and none of their grippers. The worked example's problem shows the convention: for each
robot ``robotK`` it has ``lgripperK`` and ``rgripperK``, and "The robots' grippers are free."
states ``free robotK lgripperK`` and ``free robotK rgripperK`` for every K. Measured with
Qwen2.5-Coder-1.5B on LLM+P's grippers: asked to list the unnamed objects, the model copied the
example's four grippers whatever the number of robots (4 tasks of 16 lost). The convention is
exact and needs no domain knowledge, so it is applied here, not asked for.

A *family* is a stem (``lgripper``) and an owner type (``robot``) such that the example has
exactly one ``stem + K`` for each owner whose name ends in the index K. A reading whose facts
name family members is *quantified*: its facts are the same template for every owner, and are
grounded over the task's owners: the owner is written ``<robot>`` in them and its members
``lgripper<robot>`` (no PDDL name has ``<``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from memory.cycle_records import Atom

_INDEXED = re.compile(r"^(.*?)(\d+)$")


def _split(name: str) -> tuple[str, str] | None:
    match = _INDEXED.match(name)
    return (match.group(1), match.group(2)) if match and match.group(1) else None


@dataclass(frozen=True)
class Family:
    """``stem + K`` of type ``kind`` for each object ``owner_type`` whose name ends in K."""

    kind: str
    stem: str
    owner_type: str

    def member(self, owner: str) -> str | None:
        """The member of ``owner`` (None when the owner's name has no index)."""
        split = _split(owner)
        return None if split is None else self.stem + split[1]


def _owners(objects: Mapping[str, str], kind: str) -> dict[str, str] | None:
    """Index -> name of the objects of ``kind``; None when an index is missing or repeated."""
    out: dict[str, str] = {}
    for name, of in objects.items():
        if of != kind:
            continue
        split = _split(name)
        if split is None or split[1] in out:
            return None
        out[split[1]] = name
    return out or None


def find_families(
    objects: Mapping[str, str], named: Iterable[str], facts: Iterable[Atom]
) -> list[Family]:
    """The families of the example's objects that its text does not name.

    A stem's owners are the named objects of the one type whose indices are the stem's and
    each of which shares a fact with its member (``free robot1 lgripper1``); packages
    ``d1 d2`` beside robots ``r1 r2`` have the indices but not the facts. Only when every
    unnamed object of a type belongs to a family is that type's naming learnt, and only from
    two owners or more (one cocktail and one shaker is no convention); otherwise the model is
    asked for the objects as before.
    """
    said = {n.lower() for n in named}
    together = {(a, b) for atom in facts for a in atom[1:] for b in atom[1:] if a != b}
    unnamed: dict[str, dict[str, set[str]]] = {}  # kind -> stem -> indices
    partial: set[str] = set()
    for name, kind in objects.items():
        if name in said:
            continue
        split = _split(name)
        if split is None:
            partial.add(kind)
            continue
        unnamed.setdefault(kind, {}).setdefault(split[0], set()).add(split[1])
    named_objects = {n: k for n, k in objects.items() if n in said}
    owners = {
        kind: by_index
        for kind in set(objects.values())
        if (by_index := _owners(named_objects, kind))
    }

    def owns(kind: str, stem: str, indices: set[str]) -> bool:
        by_index = owners[kind]
        return set(by_index) == indices and all(
            (by_index[i], stem + i) in together for i in indices
        )

    out: list[Family] = []
    for kind, stems in sorted(unnamed.items()):
        found: list[Family] = []
        for stem, indices in sorted(stems.items()):
            fits = [t for t in sorted(owners) if t != kind and owns(t, stem, indices)]
            if len(fits) != 1 or len(indices) < 2:
                break
            found.append(Family(kind, stem, fits[0]))
        else:
            if kind not in partial:
                out.extend(found)
    return out


def members(families: Sequence[Family], objects: Mapping[str, str]) -> dict[str, str]:
    """The task's family objects (name -> type), one per owner among ``objects``."""
    out: dict[str, str] = {}
    for family in families:
        for name, kind in objects.items():
            if kind == family.owner_type and (member := family.member(name)) is not None:
                out[member] = family.kind
    return out


def quantify(
    facts: Sequence[Atom], families: Sequence[Family], objects: Mapping[str, str]
) -> tuple[Atom, ...] | None:
    """``facts`` as one template over every owner, or None when they are not that.

    Each fact must name family members (and maybe their owner) of one owner only; with the
    owner replaced by ``<type>``, every owner of that type in the example must give back exactly
    ``facts``.
    """
    by_member = {
        m: f
        for f in families
        for o, k in objects.items()
        if k == f.owner_type and (m := f.member(o))
    }
    templates: set[Atom] = set()
    for atom in facts:
        owners: set[tuple[str, str]] = set()  # (owner type, index)
        lifted = [atom[0]]
        for arg in atom[1:]:
            family, split = by_member.get(arg), _split(arg)
            if family is not None and split is not None:
                owners.add((family.owner_type, split[1]))
                lifted.append(family.stem + _placeholder(family.owner_type))
            elif split is not None and any(objects.get(arg) == f.owner_type for f in families):
                owners.add((objects[arg], split[1]))
                lifted.append(_placeholder(objects[arg]))
            else:
                lifted.append(arg)
        if len(owners) != 1 or not any(a in by_member for a in atom[1:]):
            return None
        templates.add(tuple(lifted))
    quantified = tuple(sorted(templates))
    if not quantified or set(expand(quantified, objects)) != set(facts):
        return None
    return quantified


def _placeholder(owner_type: str) -> str:
    return f"<{owner_type}>"


_PLACEHOLDER = re.compile(r"<([^<>]+)>")


def expand(templates: Sequence[Atom], objects: Mapping[str, str]) -> list[Atom]:
    """Quantified facts grounded over every owner of their type among ``objects``.

    A fact without a placeholder passes unchanged.
    """
    out: list[Atom] = []
    for atom in templates:
        kinds = {m.group(1) for a in atom[1:] for m in _PLACEHOLDER.finditer(a)}
        if not kinds:
            out.append(atom)
            continue
        (kind,) = kinds
        mark = _placeholder(kind)
        for owner, of in sorted(objects.items()):
            split = _split(owner)
            if of == kind and split is not None:
                out.append(
                    (
                        atom[0],
                        *(owner if a == mark else a.replace(mark, split[1]) for a in atom[1:]),
                    )
                )
    return out
