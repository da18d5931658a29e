"""The embedder protocol: what the memory OS needs from anything that turns text into vectors.

The memory OS stores and searches vectors (the vector store, retrieval by similarity), but it
must not depend on how they are made: a dependency-free hashing embedder, a local transformer
and a remote API all fit behind the same three attributes and one method. Concrete embedders
live in :mod:`modules.embedders`; this module only states the contract and checks it, because
a wrong-shaped or non-finite vector that reaches an index corrupts every later search, silently.

The contract, in one place:

- ``embed(texts)`` returns a C-contiguous ``float32`` array of shape ``(len(texts), dim)``, one
  row per text in input order; an empty input gives shape ``(0, dim)``. ``float32`` and
  C order are what vector indexes (FAISS) take without a copy.
- ``dim`` is fixed for the embedder's lifetime, so an index can be sized once.
- ``normalized`` is True when every row has unit L2 norm, so that the inner product *is* the
  cosine similarity and an index can use the cheaper inner-product metric.
- ``name`` identifies the vector space: vectors from embedders with different names must never
  be compared or mixed in one index, so a stored index records the name it was built with.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memory.suggestions import close_matches, did_you_mean

__all__ = [
    "ENTRY_POINT_GROUP",
    "Embedder",
    "FloatArray",
    "check_embedding",
    "embed_one",
    "embedder_names",
    "make_embedder",
]

ENTRY_POINT_GROUP = "cogos.embedders"
"""Embedders are found by registered name through this entry-point group (as modules are)."""

FloatArray = npt.NDArray[np.float32]
"""A ``float32`` array: ``(n, dim)`` for a batch of embeddings, ``(dim,)`` for one."""


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps texts to fixed-size vectors (see the module docstring for the rules).

    The attributes are read-only properties here so that an implementation may provide them as
    plain attributes, class attributes or properties; the memory OS only ever reads them.
    ``isinstance(obj, Embedder)`` checks only that the members exist, not their types; use
    :func:`check_embedding` on what ``embed`` returns.
    """

    @property
    def name(self) -> str:
        """The vector space's identity; equal names mean comparable vectors."""
        ...

    @property
    def dim(self) -> int:
        """The length of every vector."""
        ...

    @property
    def normalized(self) -> bool:
        """True when every output row has unit L2 norm (inner product = cosine)."""
        ...

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Embed a batch: a C-contiguous ``float32`` array of shape ``(len(texts), dim)``."""
        ...


def embed_one(embedder: Embedder, text: str) -> FloatArray:
    """Embed a single text: a ``float32`` vector of shape ``(dim,)``.

    A helper rather than a protocol method, so that an embedder implements batching once and
    single texts cannot take a different (slower or subtly different) path. The result is
    checked, since a caller of this helper usually stores the vector straight away.
    """
    if not isinstance(text, str):
        raise TypeError(f"embed_one takes one str, got {type(text).__name__}")
    return check_embedding(embedder.embed([text]), embedder.dim, count=1).reshape(embedder.dim)


def check_embedding(array: object, dim: int, *, count: int | None = None) -> FloatArray:
    """Check that ``array`` is a valid embedding of width ``dim`` and return it as ``float32``.

    The memory OS calls this on every vector it is given, whoever made it: a vector of the wrong
    width, or one holding NaN or infinity, would not fail where it enters but would silently
    poison every later similarity search. Accepted are a batch of shape ``(n, dim)`` and a single
    vector of shape ``(dim,)``; with ``count``, a batch must have exactly ``count`` rows (one per
    text given to ``embed``).

    Any real numeric dtype is accepted and returned as a C-contiguous ``float32`` array of the same
    shape; an array that already is one is returned as it is, without a copy.

    Raises:
        ValueError: on a bad ``dim`` or ``count``, a non-numeric dtype, a wrong shape or row
            count, or a value that is not finite (including one that overflows ``float32``).
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"embedding dim must be a positive int, got {dim!r}")
    if not isinstance(array, np.ndarray):
        raise ValueError(f"embedding must be a numpy array, got {type(array).__name__}")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"embedding must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 2:
        if array.shape[1] != dim:
            raise ValueError(f"embedding: got shape {array.shape}, expected (n, {dim})")
        if count is not None and array.shape[0] != count:
            raise ValueError(
                f"embedding: got shape {array.shape}, expected ({count}, {dim}): one row per text"
            )
    elif array.ndim == 1:
        if array.shape[0] != dim or count is not None:
            expected = f"({count}, {dim})" if count is not None else f"({dim},) or (n, {dim})"
            raise ValueError(f"embedding: got shape {array.shape}, expected {expected}")
    else:
        raise ValueError(f"embedding: got shape {array.shape}, expected (n, {dim}) or ({dim},)")
    with np.errstate(over="ignore"):  # an overflow becomes inf, reported just below
        out = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(out)
    if not finite.all():
        where = np.argwhere(~finite)[0]
        bad = float(array[tuple(where)])
        at = f"row {int(where[0])}" if array.ndim == 2 else "the vector"
        what = f"{bad}, which overflows float32" if np.isfinite(bad) else str(bad)
        raise ValueError(
            f"embedding is not finite: {at} holds {what} "
            f"({int((~finite).sum())} non-finite value(s) in shape {array.shape})"
        )
    return out


def embedder_names() -> list[str]:
    """Registered embedder names (entry-point group ``cogos.embedders``)."""
    return sorted(ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _embedder_class(name: str) -> type:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            cls: type = ep.load()
            return cls
    if ":" in name:  # "package.module:Class" for embedders that are not packaged
        module, _, attr = name.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        return cls
    names = embedder_names()
    hint = did_you_mean(close_matches(name, names))
    raise ValueError(
        f"unknown embedder {name!r}{hint}; known embedders: {', '.join(names) or 'none'}"
    )


def make_embedder(name: str, **options: Any) -> Embedder:
    """Build the embedder registered as ``name`` with the given constructor options.

    Raises:
        ValueError: ``name`` is not a registered embedder, or an option is not one it takes;
            the message offers the close names (as an unknown module's does) and lists the
            known names, or lists the accepted options.
        ImportError: the embedder needs an extra that is not installed (``minilm``).
    """
    cls = _embedder_class(name)
    accepted = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"embedder {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(accepted)}"
        )
    embedder = cls(**options)
    if not isinstance(embedder, Embedder):
        raise TypeError(f"{name!r} built a {type(embedder).__name__}, which is not an Embedder")
    return embedder
