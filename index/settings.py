"""One settings object: defaults here < HPSR_* environment variables < explicit overrides.

This module is the one place that reads HPSR_* variables: a bad value is an error naming the
variable, and an unknown HPSR_* name gets a warning with the closest known one.
"""
from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

from index.errors import ConfigError
from index.model import MODEL_NAME, PRECISION, dimension

REPO_ROOT = Path(__file__).resolve().parent.parent
# From this many chunks "auto" stores 8-bit vectors: a flat index would hold 150 MB of float32
# per 100k chunks in memory, and sq8 kept recall@10 near the flat index's (bench/compression.py).
COMPRESS_ABOVE = 100_000
_ENV_NAMES = {"index_dir": "HPSR_INDEX", "corpus_dir": "HPSR_CORPUS", "library_dir": "HPSR_LIBRARY",
              "cache_dir": "HPSR_CACHE", "pdfjs_dir": "HPSR_PDFJS"}  # others: HPSR_<FIELD>
# Knobs of the test suite and the soak (read with suite_variable), not of the product.
TEST_VARIABLES = {
    "HPSR_REQUIRE_BROWSER": "1: a missing Chromium fails the browser tests instead of skipping them",
    "HPSR_FAST_SECONDS": "seconds of the fast concurrency test",
    "HPSR_SOAK_SECONDS": "seconds of the soak's load phase",
    "HPSR_SOAK_KILLS": "how many kills the soak makes",
    "HPSR_HYPOTHESIS_EXAMPLES": "examples per property test",
}


@dataclass(frozen=True)
class Settings:
    # Where the index lives (HPSR_INDEX). Inside the checkout by default, so `make chat`
    # and `hpsr search` agree without configuration; git ignores it.
    index_dir: Path = REPO_ROOT / ".hpsr" / "index"
    # Documents indexed when `hpsr ingest` is given no paths (HPSR_CORPUS): the bundled corpus.
    corpus_dir: Path = REPO_ROOT / "corpus"
    # The user's own documents (HPSR_LIBRARY): chat uploads go here, never into corpus/, and it
    # is indexed together with the corpus. Files under it, the corpus or the checkout are known
    # by their path inside it (index.paths), so moving them all together re-embeds nothing.
    library_dir: Path = REPO_ROOT / ".hpsr" / "library"
    # Where the ONNX export of the model is kept (HPSR_CACHE; default $XDG_CACHE_HOME/hpsr-chat
    # or ~/.cache/hpsr-chat).
    cache_dir: Path | None = None
    # Query vectors kept in memory (HPSR_QUERY_CACHE; 0: none, for benchmarks).
    query_cache: int = 4096
    # The chat's port and login (HPSR_PORT, HPSR_AUTH as user:password; --port and --auth win).
    port: int = 7860
    auth: str | None = None
    # pdf.js for the source viewer (HPSR_PDFJS; default .venv/pdfjs/node_modules/pdfjs-dist).
    pdfjs_dir: Path | None = None
    # Where the index is stored (HPSR_STORE): "faiss" (FAISS + BM25 files in index_dir) or
    # "qdrant" (a Qdrant collection behind an alias: `pip install -e '.[qdrant]'`), either a
    # server (HPSR_QDRANT_URL, e.g. http://host:6333) or embedded in this process
    # (HPSR_QDRANT_PATH=DIR, one process at a time). HPSR_QDRANT_COLLECTION names the alias.
    store: str = "faiss"
    qdrant_url: str | None = None
    qdrant_path: Path | None = None
    qdrant_collection: str = "hpsr"
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
    # Read tables as tables (PDF: pdfplumber, on the pages with a "Table N" caption; Word files
    # and web pages: their tables), so a row is searched and shown with its caption and header
    # (HPSR_TABLES=0: their text as prose).
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
    # Hybrid search adds to BM25 the words weighing most in its first three passages, this many
    # (HPSR_FEEDBACK_TERMS; 0: none), at a tenth of the question's weight (index.sparse,
    # with_feedback). Measured with eval/retrieval_ideas.py; see docs/retrieval.md.
    feedback_terms: int = 5
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
    # When the chat abstains (chatbot.signals): the weights of its signals, as fitted by
    # `hpsr calibrate --write FILE` (HPSR_ABSTAIN_WEIGHTS; default: the ones fitted for this
    # release, chatbot/data/abstain.json), and the probability of an answer below which it
    # refuses (HPSR_ABSTAIN_THRESHOLD; default: the one fitted with the weights). Lower answers more.
    abstain_weights: Path | None = None
    abstain_threshold: float | None = None

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Defaults, then HPSR_<FIELD> environment variables, then non-None `overrides`."""
        names = {f.name: f for f in fields(cls)}
        unknown = set(overrides) - set(names)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        _warn_unknown_variables()
        values = {}
        for name, f in names.items():
            var = env_name(name)
            if os.environ.get(var) is not None:
                values[name] = _parse(var, os.environ[var], f.type)
        values.update({k: _parse(f"setting {k}", v, names[k].type)
                       for k, v in overrides.items() if v is not None})
        settings = replace(cls(), **values)

        for name, allowed in (("mode", ("hybrid", "dense", "bm25")), ("fusion", ("weighted", "rrf")),
                              ("backend", tuple(PRECISION)), ("sentence_vectors", ("late", "own")),
                              ("vector_index", ("auto", "flat", "sq8")), ("store", ("faiss", "qdrant"))):
            if getattr(settings, name) not in allowed:
                raise ConfigError(f"{env_name(name)} must be one of {', '.join(allowed)}, "
                                  f"got {getattr(settings, name)!r}")
        if settings.store == "qdrant" and bool(settings.qdrant_url) == bool(settings.qdrant_path):
            raise ConfigError("HPSR_STORE=qdrant needs one of HPSR_QDRANT_URL (a server, e.g. "
                              "http://localhost:6333) or HPSR_QDRANT_PATH (a folder for embedded Qdrant)")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,60}", settings.qdrant_collection):
            raise ConfigError(f"HPSR_QDRANT_COLLECTION must be letters, digits or _, got {settings.qdrant_collection!r}")
        if not 1 <= settings.port <= 65535:
            raise ConfigError(f"HPSR_PORT must be a port number (1-65535), got {settings.port}")
        if not 0 <= settings.overlap_tokens < settings.chunk_tokens <= 250:
            raise ConfigError("need 0 <= HPSR_OVERLAP_TOKENS < HPSR_CHUNK_TOKENS <= 250, got "
                              f"{settings.overlap_tokens} and {settings.chunk_tokens}")
        return settings

    def vector_kind(self, n_chunks: int) -> str:
        """The FAISS index kind for an index of n_chunks."""
        if self.vector_index != "auto":
            return self.vector_index
        return "sq8" if n_chunks >= COMPRESS_ABOVE else "flat"

    def identity(self) -> dict:
        """What an index must have been built with to be read with these settings."""
        from ingest.chunker import CHUNKER_VERSION

        return {
            "model": {"name": MODEL_NAME, "dim": dimension(), "precision": PRECISION[self.backend]},
            "chunker": {"version": CHUNKER_VERSION, "chunk_tokens": self.chunk_tokens,
                        "overlap_tokens": self.overlap_tokens, "context": bool(self.context),
                        "tables": bool(self.tables), "sentence_vectors": self.sentence_vectors},
        }


def env_name(field: str) -> str:
    """The environment variable of a Settings field: HPSR_INDEX for index_dir, else HPSR_<FIELD>."""
    return _ENV_NAMES.get(field, f"HPSR_{field.upper()}")


def variables() -> list[str]:
    """Every HPSR_* variable the product reads (test knobs not included)."""
    return [env_name(f.name) for f in fields(Settings)]


def suite_variable(name: str, default: str = "") -> str:
    """A knob of the test suite (TEST_VARIABLES), read here like every HPSR_* variable."""
    if name not in TEST_VARIABLES:
        raise ConfigError(f"{name} is not a test variable; known: {', '.join(TEST_VARIABLES)}")
    return os.environ.get(name, default)


_warned: set[str] = set()


def _warn_unknown_variables() -> None:
    """Warn (once per name and process) about an HPSR_* variable nothing reads: a typo would
    otherwise be silently ignored."""
    known = variables() + list(TEST_VARIABLES)
    for var in sorted(os.environ):
        if var.startswith("HPSR_") and var not in known and var not in _warned:
            _warned.add(var)
            close = difflib.get_close_matches(var, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(variables())}"
            print(f"hpsr: warning: unknown variable {var} is ignored{hint}", file=sys.stderr)


def _parse(name: str, value, type_name: str):
    """`value` as the field's type; `name` (the variable, or 'setting x') goes in the error."""
    type_name = str(type_name)
    if value is None or not isinstance(value, str):
        return value
    if "Path" in type_name:
        if not value.strip():
            raise ConfigError(f"{name} must be a folder path, got an empty value")
        return Path(value).expanduser()
    if "float" in type_name:
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if "int" in type_name:
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    return value
