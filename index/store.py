"""The on-disk index: FAISS vectors, chunk metadata and a manifest, swapped in atomically.

Layout of an index directory:

    CURRENT          name of the live generation (replaced atomically with os.replace)
    gen-<id>/        vectors.faiss, bm25/, chunks.jsonl, blocks.jsonl (the text of every page or
                     section, with its quotable sentences), sentences.npy and sentences.f16.npy
                     (a vector per quotable sentence, index.sentences), manifest.json (written
                     last); vectors.f16.npy too when vectors.faiss is compressed (sq8)
    .tmp-<id>/       a generation being written; left over only by a crash, removed later
    .lock            held by a builder so two rebuilds never interleave

A reader follows CURRENT, so it sees the old generation or the new one, never a mix.
No pickle anywhere: FAISS native format, JSON and JSONL only.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import numpy as np

from index.errors import REBUILD_HINT, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from index.sentences import ROWS as SENTENCE_ROWS
from index.sentences import SentenceVectors
from index.sentences import save as save_sentences
from index.sparse import write_sparse
from ingest.types import Block, Chunk, Table

FORMAT_VERSION = 4  # 2: blocks.jsonl; chunks carry their block and kind. 3: table chunks. 4: sentence vectors
CURRENT = "CURRENT"
VECTORS, CHUNKS, BLOCKS, MANIFEST = "vectors.faiss", "chunks.jsonl", "blocks.jsonl", "manifest.json"
EXACT_VECTORS = "vectors.f16.npy"  # beside a compressed index only; read by rebuilds, not searches


class Generation:
    """One complete, immutable version of the index as loaded from disk."""

    def __init__(self, path: Path, manifest: dict, chunks: list[Chunk], faiss_index) -> None:
        self.path = path
        self.manifest = manifest
        self.chunks = chunks
        self.faiss_index = faiss_index  # inner product over unit vectors: flat or sq8
        self._sparse = None
        self._blocks: dict[str, list[Block]] | None = None
        self._sentences: SentenceVectors | None = None

    @property
    def sparse(self):
        """The BM25 index, loaded on first use (dense-only searches never pay for it)."""
        if self._sparse is None:
            from index.sparse import Sparse

            try:
                self._sparse = Sparse(self.path, len(self.chunks))
            except (OSError, ValueError, KeyError) as e:
                raise IndexCorruptError(f"BM25 files in {self.path} are unreadable ({e}); "
                                        f"{REBUILD_HINT}") from e
        return self._sparse

    @property
    def sentences(self) -> SentenceVectors:
        """The sentence vectors (index.sentences), loaded on first use."""
        if self._sentences is None:
            try:
                self._sentences = SentenceVectors.load(self.path, int(self.manifest["model"]["dim"]))
            except (OSError, ValueError, KeyError) as e:
                raise IndexCorruptError(f"sentence vectors in {self.path} are unreadable ({e}); "
                                        f"{REBUILD_HINT}") from e
        return self._sentences

    @property
    def blocks(self) -> dict[str, list[Block]]:
        """doc_id -> its blocks (page or section texts), loaded on first use."""
        if self._blocks is None:
            blocks: dict[str, list[Block]] = {}
            try:
                with open(self.path / BLOCKS, encoding="utf-8") as f:
                    for line in f:
                        row = json.loads(line)
                        row["sentences"] = tuple(map(tuple, row.get("sentences", ())))
                        blocks.setdefault(row.pop("doc_id"), []).append(Block(**row))
            except (OSError, ValueError, TypeError) as e:
                raise IndexCorruptError(f"{self.path / BLOCKS} is unreadable ({e}); {REBUILD_HINT}") from e
            self._blocks = blocks
        return self._blocks

    def vectors(self) -> np.ndarray:
        """The embeddings as computed (for rebuilds): a compressed index keeps them beside it,
        so re-quantizing never compounds its error."""
        exact = self.path / EXACT_VECTORS
        if exact.is_file():
            try:
                return np.load(exact, allow_pickle=False).astype(np.float32)
            except (OSError, ValueError) as e:
                raise IndexCorruptError(f"{exact} is unreadable ({e}); {REBUILD_HINT}") from e
        return self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal)


def current_generation(index_dir: Path) -> Path:
    """The live generation directory, or IndexNotFoundError."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexNotFoundError(f"no index at {index_dir}; {REBUILD_HINT}") from None
    except OSError as e:
        raise IndexCorruptError(f"cannot read {index_dir / CURRENT} ({e}); {REBUILD_HINT}") from e
    if not name.startswith("gen-") or "/" in name:
        raise IndexCorruptError(f"{index_dir / CURRENT} names {name!r}, not a generation; {REBUILD_HINT}")
    return index_dir / name


def read_generation(gen_dir: Path, expect: dict | None = None) -> Generation:
    """Load and validate one generation; `expect` holds manifest keys that must match."""
    import faiss

    try:
        manifest = json.loads((gen_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"index at {gen_dir.parent} is incomplete (no {MANIFEST}); "
                                f"{REBUILD_HINT}") from None
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"index manifest {gen_dir / MANIFEST} is unreadable ({e}); "
                                f"{REBUILD_HINT}") from e
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(f"index at {gen_dir.parent} has format {manifest.get('format')}, "
                                 f"this version reads format {FORMAT_VERSION}; {REBUILD_HINT}")
    for key, want in (expect or {}).items():
        if manifest.get(key) != want:
            raise IndexMismatchError(
                f"index at {gen_dir.parent} was built with {key}={manifest.get(key)}, but the "
                f"current settings need {key}={want}; {REBUILD_HINT}")
    try:
        chunks = [_chunk(json.loads(line)) for line in
                  (gen_dir / CHUNKS).read_text(encoding="utf-8").splitlines() if line]
        vec_index = faiss.read_index(str(gen_dir / VECTORS))
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
        raise IndexCorruptError(f"index files in {gen_dir} are unreadable ({e}); {REBUILD_HINT}") from e
    if not (gen_dir / BLOCKS).is_file():
        raise IndexCorruptError(f"index in {gen_dir} has no {BLOCKS}; {REBUILD_HINT}")
    if not (gen_dir / SENTENCE_ROWS).is_file():
        raise IndexCorruptError(f"index in {gen_dir} has no {SENTENCE_ROWS}; {REBUILD_HINT}")
    if not (gen_dir / "bm25" / "params.index.json").is_file():
        raise IndexCorruptError(f"index in {gen_dir} has no BM25 files; {REBUILD_HINT}")
    dim = manifest.get("model", {}).get("dim")
    if vec_index.ntotal != len(chunks) or vec_index.d != dim or manifest.get("chunks") != len(chunks):
        raise IndexCorruptError(
            f"index in {gen_dir} is inconsistent ({vec_index.ntotal} vectors of dimension "
            f"{vec_index.d}, {len(chunks)} chunks, manifest says {manifest.get('chunks')} of "
            f"dimension {dim}); {REBUILD_HINT}")
    return Generation(gen_dir, manifest, chunks, vec_index)


def _chunk(row: dict) -> Chunk:
    if row.get("table") is not None:
        row["table"] = Table.from_dict(row["table"])
    return Chunk(**row)


def vector_index(vectors: np.ndarray, dim: int, kind: str = "flat"):
    """A FAISS inner-product index over unit vectors: "flat" (exact, 4 bytes a dimension) or
    "sq8" (8-bit scalar quantization, a quarter of the memory, approximate scores)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "sq8":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        if len(vectors):
            index.train(vectors)  # per-dimension min/max: one pass, no clustering
    elif kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        raise ValueError(f"unknown vector index kind {kind!r}")
    if len(vectors):
        index.add(vectors)
    return index


def write_generation(index_dir: Path, manifest: dict, chunks: list[Chunk], blocks: dict[str, list[Block]],
                     vectors: np.ndarray, sparse_texts: list[str], kind: str = "flat",
                     sentences: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """Write a new generation beside the old one and make it live with one atomic rename.

    A crash at any point leaves CURRENT naming a complete generation.
    """
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    gen_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    tmp = index_dir / f".tmp-{gen_id}"
    tmp.mkdir()
    manifest = {**manifest, "vector_index": kind}
    faiss.write_index(vector_index(vectors, int(manifest["model"]["dim"]), kind), str(tmp / VECTORS))
    if kind != "flat":  # float16: cosine error ~1e-4, and a round trip gives the same values
        np.save(tmp / EXACT_VECTORS, np.asarray(vectors, dtype=np.float16), allow_pickle=False)
    write_sparse(tmp, sparse_texts)
    dim = int(manifest["model"]["dim"])
    rows, svecs = sentences if sentences is not None else (np.zeros((0, 3)), np.zeros((0, dim)))
    save_sentences(tmp, rows, np.asarray(svecs).reshape(-1, dim))
    _write(tmp / CHUNKS, "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in chunks))
    _write(tmp / BLOCKS, "".join(json.dumps({"doc_id": doc_id, **asdict(b)}, ensure_ascii=False) + "\n"
                                 for doc_id, bs in blocks.items() for b in bs))
    _write(tmp / MANIFEST, json.dumps({**manifest, "format": FORMAT_VERSION, "chunks": len(chunks)},
                                      indent=1, ensure_ascii=False))  # manifest last
    _fsync_path(tmp / VECTORS)
    gen_dir = index_dir / f"gen-{gen_id}"
    os.rename(tmp, gen_dir)
    _write(index_dir / f".{CURRENT}.tmp", gen_dir.name)
    os.replace(index_dir / f".{CURRENT}.tmp", index_dir / CURRENT)  # the atomic switch
    _fsync_path(index_dir)
    return gen_dir


def remove_stale(index_dir: Path, keep: int = 2) -> None:
    """Delete leftover temporaries and all but the newest `keep` generations.

    The generation before the live one is kept so that a reader who has just read CURRENT
    can still open the files it named.
    """
    if not index_dir.is_dir():
        return
    for tmp in index_dir.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        live = current_generation(index_dir).name
    except (IndexNotFoundError, IndexCorruptError):
        return
    gens = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=lambda p: p.name)
    old = [g for g in gens if g.name != live][: max(0, len(gens) - keep)]
    for g in old:
        shutil.rmtree(g, ignore_errors=True)


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
