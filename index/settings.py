"""One settings object: defaults here < HPSR_* environment variables < explicit overrides."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from index.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
# From this many chunks "auto" stores 8-bit vectors: a flat index would hold 150 MB of float32
# per 100k chunks in memory, and sq8 kept recall@10 near the flat index's (bench/compression.py).
COMPRESS_ABOVE = 100_000
_ENV_NAMES = {"index_dir": "HPSR_INDEX", "corpus_dir": "HPSR_CORPUS"}  # others: HPSR_<FIELD>


@dataclass(frozen=True)
class Settings:
    # Where the index lives (HPSR_INDEX). Inside the checkout by default, so `make chat`
    # and `hpsr search` agree without configuration; git ignores it.
    index_dir: Path = REPO_ROOT / ".hpsr" / "index"
    # Documents indexed when `hpsr ingest` is given no paths (HPSR_CORPUS).
    corpus_dir: Path = REPO_ROOT / "corpus"
    # Chunk size and overlap, in tokens of the embedding model's tokenizer. MiniLM reads
    # at most 256 tokens; 192 leaves room for the [CLS]/[SEP] marks and a short context.
    chunk_tokens: int = 192
    overlap_tokens: int = 32
    # Model threads for query embedding. One thread is barely slower than two on a 2-core
    # laptop and does not collapse when another process is busy (HPSR_QUERY_THREADS).
    query_threads: int = 1
    # Model runs at once while building an index, one thread each (HPSR_INGEST_THREADS);
    # 0 = one per core. Several one-thread runs embed faster than one run on every core.
    ingest_threads: int = 0
    batch_size: int = 32
    # Embed (and BM25-index) each chunk with its document title and section heading in
    # front (HPSR_CONTEXT=0 to turn off); measured with `hpsr eval`, see README.
    context: int = 1
    # Read PDF tables as tables (pdfplumber, on the pages with a "Table N" caption), so a row
    # is searched and shown with its caption and header (HPSR_TABLES=0: their text as prose).
    tables: int = 1
    # Default retrieval: "hybrid" (BM25 + dense), "dense" or "bm25" (HPSR_MODE).
    mode: str = "hybrid"
    # How hybrid fuses the two lists: "weighted" min-max scores or "rrf" (HPSR_FUSION),
    # and the dense weight for "weighted" (HPSR_ALPHA). Chosen with `hpsr eval`; see README.
    fusion: str = "weighted"
    alpha: float = 0.5
    # Dense search counts each passage's best sentence too, with this weight (HPSR_SENTENCE_WEIGHT;
    # 0: the passage's own vector only). Chosen with `hpsr eval`; see README.
    sentence_weight: float = 0.5
    # FAISS index kind (HPSR_VECTOR_INDEX): "flat" (exact), "sq8" (8-bit, a quarter of the
    # memory and disk) or "auto" (sq8 from COMPRESS_ABOVE chunks). Recall cost measured with
    # bench/compression.py; see README.
    vector_index: str = "auto"
    # How the embedding model runs (HPSR_BACKEND): "onnx" (fp32 on ONNX Runtime: torch's
    # vectors, no torch import on the query path), "onnx-int8" (faster ingest, measured
    # retrieval cost in README) or "torch". int8/fp32 is part of the index identity.
    backend: str = "onnx"
    # How sentence vectors are made at ingest (index.sentences; HPSR_SENTENCE_VECTORS): "late"
    # (pooled from the chunk's own token embeddings, no extra model passes) or "own" (each
    # sentence embedded alone). Compared with `hpsr eval --answers`; see README.
    sentence_vectors: str = "late"
    # When the chat abstains (chatbot.answerable): chosen on the dev questions with
    # `hpsr calibrate` (README, "Answers"). HPSR_ABSTAIN_SIMILARITY etc.
    # Below this cosine between the question and its best passage, nothing answers it;
    abstain_similarity: float = 0.2
    # ...nor below this cosine between the question and the best sentence that could be quoted;
    abstain_sentence_similarity: float = 0.3
    # ...nor when the quoted passages hold less than this share of its content words (by rarity);
    abstain_coverage: float = 0.04
    # ...nor when this share of its content words (by rarity) is in no document at all.
    abstain_absent_share: float = 1.0

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Defaults, then HPSR_<FIELD> environment variables, then non-None `overrides`."""
        names = {f.name: f for f in fields(cls)}
        unknown = set(overrides) - set(names)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = {}
        for name, f in names.items():
            env = os.environ.get(_ENV_NAMES.get(name, f"HPSR_{name.upper()}"))
            if env is not None:
                values[name] = _parse(name, env, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = replace(cls(), **{k: _parse(k, v, names[k].type) for k, v in values.items()})
        if settings.mode not in ("hybrid", "dense", "bm25") or settings.fusion not in ("weighted", "rrf"):
            raise ConfigError(f"mode must be hybrid, dense or bm25 and fusion weighted or rrf, "
                              f"got {settings.mode!r} and {settings.fusion!r}")
        from index.embedder import PRECISION  # the backends

        if settings.backend not in PRECISION:
            raise ConfigError(f"backend must be one of {', '.join(PRECISION)}, got {settings.backend!r}")
        if settings.sentence_vectors not in ("late", "own"):
            raise ConfigError(f"sentence_vectors must be late or own, got {settings.sentence_vectors!r}")
        if settings.vector_index not in ("auto", "flat", "sq8"):
            raise ConfigError(f"vector_index must be auto, flat or sq8, got {settings.vector_index!r}")
        if not 0 <= settings.overlap_tokens < settings.chunk_tokens <= 250:
            raise ConfigError("need 0 <= overlap_tokens < chunk_tokens <= 250, got "
                              f"{settings.overlap_tokens} and {settings.chunk_tokens}")
        return settings

    def vector_kind(self, n_chunks: int) -> str:
        """The FAISS index kind for an index of n_chunks."""
        if self.vector_index != "auto":
            return self.vector_index
        return "sq8" if n_chunks >= COMPRESS_ABOVE else "flat"

    def identity(self) -> dict:
        """What an index must have been built with to be read with these settings."""
        from index.embedder import DIM, MODEL_NAME, PRECISION
        from ingest.chunker import CHUNKER_VERSION

        return {
            "model": {"name": MODEL_NAME, "dim": DIM, "precision": PRECISION[self.backend]},
            "chunker": {"version": CHUNKER_VERSION, "chunk_tokens": self.chunk_tokens,
                        "overlap_tokens": self.overlap_tokens, "context": bool(self.context),
                        "tables": bool(self.tables), "sentence_vectors": self.sentence_vectors},
        }


def _parse(name: str, value, type_name: str):
    if "Path" in str(type_name):
        return Path(value).expanduser()
    if "float" in str(type_name):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name} must be a number, got {value!r}") from None
    if "int" in str(type_name):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name} must be an integer, got {value!r}") from None
    return value
