"""Sentence vectors: one per quotable sentence of each chunk (and per row of a table chunk),
computed at ingest and stored in the generation, so answering a question costs one query
embedding and some dot products.

Each row of `sentences.npy` is (chunk position, start, end): a span of that chunk's text, a
quotable sentence of its block clipped to the chunk, or a table chunk's line (one per row).
`sentences.f16.npy` holds the unit vectors in the same order, as float16. How they are made
(Settings.sentence_vectors):
- "late": the chunk's own token embeddings, from the pass that embeds the chunk, mean-pooled
  over the sentence's tokens ("late chunking"): no extra model passes, and each sentence is
  read in the context of its passage.
- "own": each sentence embedded as a text of its own.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.types import Block, Chunk

ROWS, VECTORS = "sentences.npy", "sentences.f16.npy"


def chunk_spans(chunk: Chunk, block: Block | None) -> tuple[tuple[int, int], ...]:
    """What an answer may quote from a chunk, as spans of its text: its block's quotable
    sentences clipped to it, or a table chunk's lines."""
    if chunk.table is not None:
        spans, pos = [], 0
        for line in chunk.text.split("\n"):
            spans.append((pos, pos + len(line)))
            pos += len(line) + 1
        return tuple(spans)
    if block is None:
        return ()
    return tuple((max(s, chunk.start) - chunk.start, min(e, chunk.end) - chunk.start)
                 for s, e in block.sentences if s < chunk.end and e > chunk.start)


class SentenceVectors:
    """The stored sentence vectors of one generation, and lookups by chunk and span."""

    def __init__(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        self.rows = rows  # (n, 3) int32: chunk position, start, end
        self.vectors = vectors  # (n, dim) float16, unit length
        self._starts = np.searchsorted(rows[:, 0], np.arange(int(rows[:, 0].max(initial=-1)) + 2))

    @classmethod
    def load(cls, folder: Path, dim: int) -> "SentenceVectors":
        rows = np.load(folder / ROWS, allow_pickle=False)
        vectors = np.load(folder / VECTORS, allow_pickle=False, mmap_mode="r")
        if rows.ndim != 2 or rows.shape[1] != 3 or vectors.shape != (len(rows), dim):
            raise ValueError(f"sentence rows {rows.shape} and vectors {vectors.shape} do not match")
        return cls(rows, vectors)

    def range(self, lo: int, hi: int) -> tuple[int, int]:
        """The rows [first, last) of the chunks at positions [lo, hi)."""
        n = len(self._starts) - 1
        return int(self._starts[min(lo, n)]), int(self._starts[min(hi, n)])

    def of_chunk(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """A chunk's spans (k, 2) and their vectors (k, dim) as float32, in text order."""
        if position + 1 >= len(self._starts):
            return np.zeros((0, 2), np.int32), np.zeros((0, self.vectors.shape[1]), np.float32)
        lo, hi = self._starts[position], self._starts[position + 1]
        return self.rows[lo:hi, 1:], np.asarray(self.vectors[lo:hi], dtype=np.float32)


def save(folder: Path, rows: np.ndarray, vectors: np.ndarray) -> None:
    np.save(folder / ROWS, np.asarray(rows, dtype=np.int32).reshape(-1, 3), allow_pickle=False)
    np.save(folder / VECTORS, np.asarray(vectors, dtype=np.float16), allow_pickle=False)
