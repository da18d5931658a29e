"""A dependency-free embedder: signed feature hashing of word and character n-grams.

It needs nothing beyond numpy and the standard library, loads instantly and embeds tens of
thousands of sentences a second, so it suits tests, the maze and machines without the ``embed``
extra. It captures surface overlap only (shared words, word pairs and word fragments), not
meaning: to it "car" and "automobile" are unrelated. Use
:class:`modules.embedders.minilm.MiniLMEmbedder` where paraphrases must meet.

How a text becomes a vector:

1. The text is NFKC-normalised and lower-cased, and split into words (runs of
   letters, digits and underscores).
2. Every word n-gram with n in ``ngram_range`` is a feature of weight 1. If ``char_ngrams`` is
   set, each word, padded as ``<word>``, also gives its character n-grams, weighted
   ``1/sqrt(k)`` for a word with k of them: a word's fragments together weigh about as much as
   the word itself, so they add tolerance to inflection and typos without drowning it.
3. Each feature is hashed to a bucket in ``[0, dim)`` and a sign (signed hashing: collisions
   cancel on average instead of piling up), the buckets are summed and the sum is L2-normalised.

Words are hashed with keyed BLAKE2b over their UTF-8 bytes. Word n-grams chain the word hashes,
and character n-grams chain the code points, through the splitmix64 finaliser in numpy's
wrapping ``uint64`` arithmetic, so every n-gram of a whole batch is hashed in a few array
operations. All of it is a fixed function of the input bytes: a text gets the same vector in
every process and on every machine (Python's ``hash()`` is salted per process and would not).
``seed`` keys the hashes: different seeds give unrelated vectors that must not be compared.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from memory.embedding import FloatArray

__all__ = ["HashingEmbedder"]

_VERSION = 1
"""Bumped whenever a change would alter any vector; it is part of :attr:`HashingEmbedder.name`."""

_WORD = re.compile(r"\w+")
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ONE = np.uint64(1)
_CACHE_LIMIT = 1 << 17  # word hashes kept (about 15 MB at most); the cache is cleared when full
_CHUNK = 4096  # texts per dense accumulation buffer (4096 x 384 float64 = 12.6 MB)

U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]


def _mix(h: U64Array) -> U64Array:
    """The splitmix64 finaliser: a bijection on uint64 mixing every input bit into every output.

    numpy's array arithmetic wraps modulo 2**64, without a warning.
    """
    h = (h ^ (h >> np.uint64(30))) * _MUL1
    h = (h ^ (h >> np.uint64(27))) * _MUL2
    return h ^ (h >> np.uint64(31))


def _ngrams(codes: U64Array, group: I64Array, n: int, tag: np.uint64) -> tuple[U64Array, I64Array]:
    """Hash every run of ``n`` consecutive codes that lies within one group.

    Returns the hashes and the index of each run's first code. ``group`` must be non-decreasing
    (a run is inside one group when its first and last codes are).
    """
    m = len(codes) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    h = _mix(codes[:m] ^ tag)
    for k in range(1, n):
        h = _mix(h * _GOLDEN + codes[k : k + m])
    starts = np.flatnonzero(group[:m] == group[n - 1 : n - 1 + m])
    return h[starts], starts


def _pair(value: object, what: str) -> tuple[int, int]:
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{what} must be a pair of ints (min, max), got {value!r}")
    lo, hi = int(value[0]), int(value[1])
    if not 1 <= lo <= hi:
        raise ValueError(f"{what} must satisfy 1 <= min <= max, got {value!r}")
    return lo, hi


class HashingEmbedder:
    """Feature-hashing embedder: unit-length, deterministic across processes and machines.

    Args:
        dim: vector length, the number of hash buckets (more buckets, fewer collisions).
        ngram_range: ``(min, max)`` word n-gram orders; ``(1, 2)`` is words and word pairs.
        char_ngrams: ``(min, max)`` character n-gram lengths within words, or None for none.
            They make the embedding tolerant of inflection and typos ("plan", "planning").
        seed: keys the hash functions; vectors made with different seeds are not comparable.
    """

    normalized = True

    def __init__(
        self,
        dim: int = 384,
        ngram_range: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (3, 5),
        seed: int = 0,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
        self.dim = dim
        self.ngram_range = _pair(ngram_range, "ngram_range")
        self.char_ngrams = None if char_ngrams is None else _pair(char_ngrams, "char_ngrams")
        self.seed = seed
        lo, hi = self.ngram_range
        chars = "none" if self.char_ngrams is None else "{}-{}".format(*self.char_ngrams)
        self.name = f"hashing-v{_VERSION}(dim={dim},words={lo}-{hi},chars={chars},seed={seed})"
        self._key = seed.to_bytes(8, "little")
        self._word_tags = {
            n: np.uint64(self._digest(b"word%d" % n, b"tag")) for n in range(lo, hi + 1)
        }
        self._char_tags = {}
        if self.char_ngrams is not None:
            clo, chi = self.char_ngrams
            self._char_tags = {
                n: np.uint64(self._digest(b"char%d" % n, b"tag")) for n in range(clo, chi + 1)
            }
        # A text without words (or, very rarely, whose features cancel exactly) gets this fixed
        # unit vector, so that every output is unit length as `normalized` promises.
        self._empty_bucket = self._digest(b"", b"empty") % dim
        self._word_hashes: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"HashingEmbedder(dim={self.dim}, ngram_range={self.ngram_range}, "
            f"char_ngrams={self.char_ngrams}, seed={self.seed})"
        )

    def _digest(self, data: bytes, person: bytes) -> int:
        digest = hashlib.blake2b(
            data, digest_size=8, key=self._key, person=b"cogos." + person
        ).digest()
        return int.from_bytes(digest, "little")

    def _word_hash(self, word: str) -> int:
        found = self._word_hashes.get(word)
        if found is None:
            found = self._digest(word.encode(), b"word")
            if len(self._word_hashes) >= _CACHE_LIMIT:
                self._word_hashes.clear()
            self._word_hashes[word] = found
        return found

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Embed a batch: a C-contiguous ``float32`` array ``(len(texts), dim)`` of unit rows."""
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts; wrap a single text in a list")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), _CHUNK):
            chunk = texts[start : start + _CHUNK]
            out[start : start + len(chunk)] = self._embed_chunk(chunk)
        return out

    def _embed_chunk(self, texts: Sequence[str]) -> F64Array:
        dim = self.dim
        words: list[list[str]] = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must be str, got {type(text).__name__}")
            words.append(_WORD.findall(unicodedata.normalize("NFKC", text).lower()))
        lengths = np.fromiter((len(ws) for ws in words), dtype=np.int64, count=len(words))
        doc = np.repeat(np.arange(len(words), dtype=np.int64), lengths)  # each token's text
        # Tokens refer to their word by a chunk-local id, so each distinct word is handled once.
        local: dict[str, int] = {}
        ids = np.fromiter(
            (local.setdefault(w, len(local)) for ws in words for w in ws),
            dtype=np.int64,
            count=len(doc),
        )
        rows: list[I64Array] = []
        hashes: list[U64Array] = []
        weights: list[F64Array] = []

        # Word n-grams of all texts at once; an n-gram is kept when it lies within one text.
        word_hashes = np.fromiter(
            (self._word_hash(w) for w in local), dtype=np.uint64, count=len(local)
        )[ids]
        for n, tag in self._word_tags.items():
            h, starts = _ngrams(word_hashes, doc, n, tag)
            rows.append(doc[starts])
            hashes.append(h)
            weights.append(np.ones(len(h)))

        if self._char_tags and local:
            char_rows, char_hashes, char_weights = self._char_ngrams(list(local), ids, doc)
            rows.append(char_rows)
            hashes.append(char_hashes)
            weights.append(char_weights)

        size = len(texts) * dim
        if rows:
            h = np.concatenate(hashes)
            index = np.concatenate(rows) * dim + ((h >> _ONE) % np.uint64(dim)).astype(np.int64)
            signed = np.where(h & _ONE, 1.0, -1.0) * np.concatenate(weights)
            # (bincount of an empty input comes back as int64, whatever the weights)
            dense = np.bincount(index, weights=signed, minlength=size).astype(
                np.float64, copy=False
            )
        else:
            dense = np.zeros(size, dtype=np.float64)
        dense = dense.reshape(len(texts), dim)
        norms = np.sqrt((dense * dense).sum(axis=1))
        empty = norms == 0.0
        if empty.any():
            dense[empty, self._empty_bucket] = 1.0
            norms[empty] = 1.0
        dense /= norms[:, None]
        return dense

    def _char_ngrams(
        self, unique: list[str], ids: I64Array, doc: I64Array
    ) -> tuple[I64Array, U64Array, F64Array]:
        """Character n-gram features of every token: ``(text index, hash, weight)`` arrays.

        The n-grams of each distinct word (``unique[ids[t]]`` is token t's word, ``doc[t]`` its
        text) are hashed once, all words together, and then gathered for each of its tokens.
        """
        padded = "".join(f"<{w}>" for w in unique)
        codes = np.frombuffer(padded.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        sizes = np.fromiter((len(w) + 2 for w in unique), dtype=np.int64, count=len(unique))
        owner = np.repeat(np.arange(len(unique), dtype=np.int64), sizes)
        parts = [_ngrams(codes, owner, n, tag) for n, tag in self._char_tags.items()]
        gram_hashes = np.concatenate([h for h, _ in parts])
        gram_owner = owner[np.concatenate([starts for _, starts in parts])]
        order = np.argsort(gram_owner, kind="stable")  # the grams of each word, back to back
        gram_hashes = gram_hashes[order]
        per_word = np.bincount(gram_owner, minlength=len(unique))
        first = np.cumsum(per_word) - per_word
        # Token t takes grams first[ids[t]] ... first[ids[t]] + per_word[ids[t]] - 1.
        counts = per_word[ids]
        offsets = np.cumsum(counts) - counts
        gather = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(
            first[ids] - offsets, counts
        )
        gram_weight = 1.0 / np.sqrt(np.maximum(per_word, 1))
        return (
            np.repeat(doc, counts),
            gram_hashes[gather],
            np.repeat(gram_weight[ids], counts),
        )
