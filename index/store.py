"""The on-disk index: FAISS vectors, chunk metadata and a manifest, swapped in atomically.

Layout of an index directory:

    CURRENT          name of the live generation (replaced atomically with os.replace)
    gen-<id>/        vectors.faiss, bm25/, chunks.jsonl, blocks.jsonl (the text of every page or
                     section, with its quotable sentences), sentences.npy and sentences.f16.npy
                     (a vector per quotable sentence, index.sentences), manifest.json (written
                     last, with every other file's size and CRC-32); vectors.f16.npy too when
                     vectors.faiss is compressed (sq8); .readers, locked (shared) by each reader
    .tmp-<id>/       a generation being written; left over only by a crash, removed later
    .lock            held by a builder so two rebuilds never interleave

A reader follows CURRENT, so it sees the old generation or the new one, never a mix. Every file
and folder is fsynced before the rename that publishes it, so a power cut leaves CURRENT naming
a complete generation; a generation whose files do not match its manifest is not served (the
newest earlier one that does is, until the next build). A generation a reader holds is never
pruned. No pickle anywhere: FAISS native format, JSON and JSONL only.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import weakref
import zlib
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from index.faiss_search import rank
from index.errors import REBUILD_HINT, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from index.sentences import ROWS as SENTENCE_ROWS
from index.sentences import SentenceVectors
from index.sentences import save as save_sentences
from index.generations import new_id, order
from index.manifest import FORMAT_VERSION, Manifest, check_manifest
from index.sparse import write_sparse
from ingest.types import Block, Chunk

CURRENT = "CURRENT"
VECTORS, CHUNKS, BLOCKS, MANIFEST = "vectors.faiss", "chunks.jsonl", "blocks.jsonl", "manifest.json"
EXACT_VECTORS = "vectors.f16.npy"  # beside a compressed index only; read by rebuilds, not searches
READERS = ".readers"  # an empty file each reader locks (shared): pruning skips a locked generation


class Generation:
    """One complete, immutable version of the index as loaded from disk."""

    def __init__(self, path: Path, manifest: Manifest, chunks: list[Chunk], faiss_index) -> None:
        self.path = path
        self.name = path.name
        self.where = f"index at {path.parent}"
        self.manifest = manifest
        self.chunks = chunks
        self.faiss_index = faiss_index  # inner product over unit vectors: flat or sq8
        self.sentence_faiss = None  # FAISS index over the sentence vectors (faiss_search), on first use
        self._sparse = None
        self._blocks: dict[str, list[Block]] | None = None
        self._sentences: SentenceVectors | None = None
        self.problem: str | None = None  # why this, not the live generation, was loaded
        self.damaged: Path | None = None  # that live generation
        self._hold()

    def _hold(self) -> None:
        """Lock .readers (shared) while this object lives, so no build prunes the files that
        load lazily (BM25, blocks, sentence vectors) from under it."""
        try:
            fd = os.open(self.path / READERS, os.O_RDONLY)
        except OSError:
            return  # a read-only copy without the file: nothing to hold
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:  # a build is deleting it this instant
            os.close(fd)
            raise IndexCorruptError(f"generation {self.path.name} is being removed") from None
        weakref.finalize(self, os.close, fd)

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
                self._sentences = SentenceVectors.load(self.path, self.manifest.dim)
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
                        blocks.setdefault(row.pop("doc_id"), []).append(Block.from_dict(row))
            except (OSError, ValueError, TypeError) as e:
                raise IndexCorruptError(f"{self.path / BLOCKS} is unreadable ({e}); {REBUILD_HINT}") from e
            self._blocks = blocks
        return self._blocks

    def search(self, query: str, qvec, mode: str, depth: int, k: int, doc: str | None, lo: int, hi: int,
               settings) -> list[tuple[int, float]]:
        """The k best (chunk position, score) among positions [lo, hi) (doc's, when given)."""
        return rank(self, query, qvec, mode, depth, k, lo, hi, settings)

    def chunk_vectors(self, positions) -> np.ndarray:
        """The stored vectors of these chunks."""
        return self.faiss_index.reconstruct_batch(np.asarray(positions, dtype=np.int64))

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


def load_generation(index_dir: Path, expect: dict | None = None) -> Generation:
    """The live generation; if its files fail verification, the newest earlier one that passes,
    with `problem` saying why (also on stderr). The next build replaces the damaged one."""
    live = current_generation(index_dir)
    try:
        return read_generation(live, expect)
    except IndexCorruptError as e:
        if current_generation(index_dir) != live:  # a rebuild swapped generations meanwhile
            return read_generation(current_generation(index_dir), expect)
        damaged = e
    for older in sorted((g for g in index_dir.glob("gen-*") if order(g.name) < order(live.name)),
                        key=lambda g: order(g.name), reverse=True):
        try:
            gen = read_generation(older, expect)
        except (IndexCorruptError, IndexMismatchError):
            continue
        gen.damaged = live
        gen.problem = (f"the live index generation {live.name} is damaged ({damaged}); answering from "
                       f"the previous generation, {older.name}, until `hpsr ingest` repairs it")
        if (live, older) not in _said:
            _said.add((live, older))
            print(f"hpsr: warning: {gen.problem}", file=sys.stderr, flush=True)
        return gen
    raise damaged


_said: set[tuple[Path, Path]] = set()  # fallbacks already reported on stderr


def checksum(path: Path) -> int:
    """CRC-32 of a file: a cheap check that catches truncated, zeroed or torn writes."""
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            crc = zlib.crc32(block, crc)
    return crc


def _contents(gen_dir: Path) -> dict[str, list[int]]:
    """Every file of a generation but the manifest and .readers: relative path -> [size, crc32]."""
    return {str(f.relative_to(gen_dir)): [f.stat().st_size, checksum(f)]
            for f in sorted(gen_dir.rglob("*")) if f.is_file() and f.name not in (MANIFEST, READERS)}


def verify(gen_dir: Path, manifest: Manifest) -> None:
    """IndexCorruptError unless every file the manifest lists has its recorded size and CRC-32."""
    for rel, (size, crc) in manifest.contents.items():
        f = gen_dir / rel
        try:
            actual = f.stat().st_size
            if actual != size:
                problem = f"{rel} has {actual} bytes, the manifest says {size}"
            elif checksum(f) != crc:
                problem = f"{rel} does not match its checksum"
            else:
                continue
        except OSError as e:
            problem = f"{rel} is unreadable ({e.strerror or e})"
        raise IndexCorruptError(f"index in {gen_dir} is damaged: {problem}; {REBUILD_HINT}")


def inspect_generation(gen_dir: Path) -> tuple[Manifest | None, str | None]:
    """A generation's manifest (None if unreadable) and what is wrong with its files (None: all
    verified), without loading it."""
    try:
        raw = json.loads((gen_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return None, f"manifest unreadable ({e})"
    try:
        manifest = Manifest.from_dict(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        manifest = None
        if raw.get("format") == FORMAT_VERSION:
            return None, f"manifest unreadable ({e!r})"
    if raw.get("format") != FORMAT_VERSION:  # an older build: what it says, as far as it is read
        return manifest, f"format {raw.get('format')}, this version reads {FORMAT_VERSION}"
    try:
        verify(gen_dir, manifest)
    except IndexCorruptError as e:
        return manifest, str(e).split("; ")[0]
    return manifest, None


def read_generation(gen_dir: Path, expect: dict | None = None) -> Generation:
    """Load, verify and validate one generation; `expect` holds manifest keys that must match."""
    import faiss

    try:
        manifest = json.loads((gen_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"index at {gen_dir.parent} is incomplete (no {MANIFEST}); "
                                f"{REBUILD_HINT}") from None
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"index manifest {gen_dir / MANIFEST} is unreadable ({e}); "
                                f"{REBUILD_HINT}") from e
    check_manifest(manifest, f"index at {gen_dir.parent}", expect)
    if not isinstance(manifest.get("contents"), dict):
        raise IndexCorruptError(f"index manifest {gen_dir / MANIFEST} lists no files; {REBUILD_HINT}")
    try:
        manifest = Manifest.from_dict(manifest)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise IndexCorruptError(f"index manifest {gen_dir / MANIFEST} is unreadable ({e!r}); {REBUILD_HINT}") from e
    verify(gen_dir, manifest)
    try:
        chunks = [Chunk.from_dict(json.loads(line)) for line in
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
    if vec_index.ntotal != len(chunks) or vec_index.d != manifest.dim or manifest.chunks != len(chunks):
        raise IndexCorruptError(
            f"index in {gen_dir} is inconsistent ({vec_index.ntotal} vectors of dimension "
            f"{vec_index.d}, {len(chunks)} chunks, manifest says {manifest.chunks} of "
            f"dimension {manifest.dim}); {REBUILD_HINT}")
    return Generation(gen_dir, manifest, chunks, vec_index)


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


def write_generation(index_dir: Path, manifest: Manifest, chunks: list[Chunk], blocks: dict[str, list[Block]],
                     vectors: np.ndarray, sparse_texts: list[str], kind: str = "flat",
                     sentences: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """Write a new generation beside the old one and make it live with one atomic rename.

    A crash at any point leaves CURRENT naming a complete generation.
    """
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    # Ordered by a sequence number (index.generations), which the fallback and pruning rely on.
    gen_id = new_id(p.name for p in index_dir.iterdir() if p.name.startswith(("gen-", ".tmp-")))
    tmp = index_dir / f".tmp-{gen_id}"
    tmp.mkdir()
    dim = manifest.dim
    faiss.write_index(vector_index(vectors, dim, kind), str(tmp / VECTORS))
    if kind != "flat":  # float16: cosine error ~1e-4, and a round trip gives the same values
        np.save(tmp / EXACT_VECTORS, np.asarray(vectors, dtype=np.float16), allow_pickle=False)
    write_sparse(tmp, sparse_texts)
    rows, svecs = sentences if sentences is not None else (np.zeros((0, 3)), np.zeros((0, dim)))
    save_sentences(tmp, rows, np.asarray(svecs).reshape(-1, dim))
    _write(tmp / CHUNKS, "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in chunks))
    _write(tmp / BLOCKS, "".join(json.dumps({"doc_id": doc_id, **asdict(b)}, ensure_ascii=False) + "\n"
                                 for doc_id, bs in blocks.items() for b in bs))
    _write(tmp / READERS, "")
    for f in tmp.rglob("*"):  # on disk before the manifest vouches for them
        _fsync_path(f)
    written = replace(manifest, vector_index=kind, format=FORMAT_VERSION, chunks=len(chunks),
                      contents={k: (v[0], v[1]) for k, v in _contents(tmp).items()})
    _write(tmp / MANIFEST, json.dumps(written.to_dict(), indent=1, ensure_ascii=False))
    _fsync_path(tmp)
    gen_dir = index_dir / f"gen-{gen_id}"
    os.rename(tmp, gen_dir)
    _fsync_path(index_dir)  # the rename is durable before CURRENT names it
    _write(index_dir / f".{CURRENT}.tmp", gen_dir.name)
    os.replace(index_dir / f".{CURRENT}.tmp", index_dir / CURRENT)  # the atomic switch
    _fsync_path(index_dir)
    return gen_dir


def remove_stale(index_dir: Path, keep: int = 2) -> None:
    """Delete leftover temporaries, generations a killed build renamed but never made live, and
    all but the newest `keep` generations up to the live one, except those a reader holds (any
    process). Called under the build lock only.

    The generation before the live one is kept so that a reader who has just read CURRENT
    can still open the files it named, and so that a damaged live one has a fallback.
    """
    if not index_dir.is_dir():
        return
    for tmp in index_dir.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        live = current_generation(index_dir).name
    except (IndexNotFoundError, IndexCorruptError):
        return
    gens = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=lambda p: order(p.name))
    never_live = [g for g in gens if order(g.name) > order(live)]  # CURRENT only moves to newer generations
    older = [g for g in gens if order(g.name) < order(live)]
    for g in never_live + older[: max(0, len(older) - (keep - 1))]:
        discard(g)


def discard(gen_dir: Path) -> None:
    """Delete a generation (not the live one) unless a reader holds its .readers lock."""
    try:
        fd = os.open(gen_dir / READERS, os.O_RDONLY)
    except OSError:
        shutil.rmtree(gen_dir, ignore_errors=True)  # made before readers locked, or half deleted
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # in use: a later build removes it
    else:
        shutil.rmtree(gen_dir, ignore_errors=True)
    finally:
        os.close(fd)


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
