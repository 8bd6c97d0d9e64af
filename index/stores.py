"""Where an index lives: a Store, chosen by Settings.store (HPSR_STORE) in `store_for`, the one
place that knows the kinds. "faiss": generations of FAISS and bm25s files in the index folder
(index.store); "qdrant": a collection per generation behind an alias (index.qdrant_store,
imported only then). The build, the readers and `hpsr status` use this interface alone."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from index.generations import order
from index.manifest import Manifest
from index.settings import Settings
from index.store import (CURRENT, current_generation, discard, inspect_generation, load_generation, remove_stale,
                         write_generation)
from ingest.types import Block, Chunk


class LoadedGeneration(Protocol):
    """One loaded generation of either store."""

    name: str  # which generation
    where: str  # where it is, for messages
    manifest: Manifest  # identity, sources, files (sha256, doc id, counts), built
    chunks: list[Chunk]  # every chunk; its position is its index
    problem: str | None  # why it, not the live one, was loaded (None: it is the live one)
    damaged: Path | None  # the damaged live generation this one stands in for, if any

    @property
    def blocks(self) -> dict[str, list[Block]]: ...  # doc id -> each page or section text
    @property
    def sentences(self): ...  # index.sentences.SentenceVectors: quotable sentences, their vectors
    @property
    def sparse(self): ...  # index.sparse.Lookup: which chunks hold a word
    def vectors(self) -> np.ndarray: ...  # every stored chunk vector (for rebuilds)
    def chunk_vectors(self, positions) -> np.ndarray: ...

    def search(self, query: str, qvec: np.ndarray | None, mode: str, depth: int, k: int, doc: str | None,
               lo: int, hi: int, settings: Settings) -> list[tuple[int, float]]:
        """The k best (chunk position, score): of positions [lo, hi), which are doc's if given."""
        ...


class Store(Protocol):
    def describe(self) -> str: ...  # what and where, for `hpsr status`
    def live_name(self) -> str: ...  # the live generation's name (IndexNotFoundError: none)
    def open(self, expect: dict | None = None) -> LoadedGeneration: ...  # the live one, loaded
    def publish(self, manifest: Manifest, chunks: list[Chunk], blocks: dict[str, list[Block]], vectors: np.ndarray,
                sparse_texts: list[str], kind: str, sentences: tuple[np.ndarray, np.ndarray]) -> str:
        """Write a new generation and make it live atomically; returns its name."""
        ...
    def discard(self, generation: Path) -> None: ...  # a damaged generation, never a fallback again
    def prune(self) -> None: ...  # what killed builds left, and all generations before the previous
    def generations(self) -> Iterator[tuple[str, Manifest | None, str | None, float]]:
        """(name, manifest, problem or None, seconds to check) of each generation, newest first."""
        ...


class FaissStore:
    def __init__(self, index_dir: Path, settings: Settings) -> None:
        self.index_dir, self.settings = Path(index_dir), settings

    def describe(self) -> str:
        return "FAISS vectors + BM25 (bm25s) in index generations on disk"

    def live_name(self) -> str:
        return current_generation(self.index_dir).name

    def open(self, expect: dict | None = None):
        return load_generation(self.index_dir, expect)

    def publish(self, manifest, chunks, blocks, vectors, sparse_texts, kind, sentences) -> str:
        return write_generation(self.index_dir, manifest, chunks, blocks, vectors, sparse_texts, kind, sentences).name

    def discard(self, generation: Path) -> None:
        discard(generation)

    def prune(self) -> None:
        remove_stale(self.index_dir)
        (self.index_dir / f".{CURRENT}.tmp").unlink(missing_ok=True)  # only written under the build lock

    def generations(self):
        for g in sorted(self.index_dir.glob("gen-*"), key=lambda g: order(g.name), reverse=True):
            t0 = time.perf_counter()
            manifest, problem = inspect_generation(g)
            yield g.name, manifest, problem, time.perf_counter() - t0


class QdrantStore:
    """The index in Qdrant; the index folder keeps only the build lock."""

    def __init__(self, index_dir: Path, settings: Settings) -> None:
        from index import qdrant_store  # needs the optional qdrant-client

        self.index_dir, self.settings, self.q = Path(index_dir), settings, qdrant_store

    def describe(self) -> str:
        return (f"{self.q.where(self.settings)}, alias {self.settings.qdrant_collection} "
                f"(the index folder keeps only the build lock)")

    def live_name(self) -> str:
        return self.q.live_collection(self.settings)

    def open(self, expect: dict | None = None):
        return self.q.QdrantGeneration(self.settings, self.live_name(), expect)

    def publish(self, manifest, chunks, blocks, vectors, sparse_texts, kind, sentences) -> str:
        return self.q.write_collection(self.settings, replace(manifest, vector_index=kind), chunks, blocks, vectors,
                                       sparse_texts, sentences)

    def discard(self, generation: Path) -> None:  # a collection is never loaded damaged
        pass

    def prune(self) -> None:
        self.q.prune(self.settings)

    def generations(self):
        for d in self.q.describe(self.settings):
            yield d["name"], d["manifest"], d["problem"], 0.0


STORES: dict[str, type] = {"faiss": FaissStore, "qdrant": QdrantStore}


def store_for(index_dir: Path, settings: Settings) -> Store:
    """The store Settings.store names, for the index at `index_dir`."""
    return STORES[settings.store](index_dir, settings)
