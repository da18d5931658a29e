"""A misspelt embedder name gets the same did-you-mean as a misspelt module name."""

import pytest

from cogos.errors import ComponentNotFound
from cogos.registry import get
from memory.embedding import make_embedder


def test_a_misspelt_embedder_name_gets_a_suggestion() -> None:
    with pytest.raises(ValueError, match=r"unknown embedder 'hashin'; did you mean 'hashing'\?"):
        make_embedder("hashin")


def test_embedders_and_components_offer_names_in_the_same_words() -> None:
    with pytest.raises(ValueError, match="unknown embedder") as embedder:
        make_embedder("minlm")
    with pytest.raises(ComponentNotFound) as policy:
        get("policy", "explor")
    assert "; did you mean 'minilm'?" in str(embedder.value)
    assert "; did you mean 'explore'?" in str(policy.value)


def test_a_name_close_to_nothing_lists_what_there_is() -> None:
    with pytest.raises(ValueError, match="known embedders: hashing, minilm") as info:
        make_embedder("bert")
    assert "did you mean" not in str(info.value)
