"""Combine the dense and BM25 result lists into one ranking (pure functions, easy to test)."""
from __future__ import annotations

import numpy as np

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very top ranks


def rrf(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to the items it ranks (rank from 1)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def with_best_sentence(cosine: dict[int, float], best: dict[int, float], w: float) -> dict[int, float]:
    """A passage's dense score counting its best sentence: (1 - w) * its cosine + w * its best
    sentence's (Settings.sentence_weight); `best` holds every passage of `cosine`."""
    return {c: (1 - w) * cos + w * best[c] for c, cos in cosine.items()}


def weighted(dense: dict[int, float], sparse: dict[int, float], alpha: float) -> dict[int, float]:
    """alpha * dense + (1 - alpha) * bm25, each min-max scaled to [0, 1] over the candidates.

    A candidate missing from one list gets that list's minimum (0 after scaling).
    """
    items = set(dense) | set(sparse)

    def scaled(scores: dict[int, float]) -> dict[int, float]:
        if not scores:
            return {}
        values = np.fromiter(scores.values(), dtype=np.float64)
        lo, hi = float(values.min()), float(values.max())
        span = hi - lo or 1.0
        return {i: (s - lo) / span for i, s in scores.items()}

    d, s = scaled(dense), scaled(sparse)
    return {i: alpha * d.get(i, 0.0) + (1 - alpha) * s.get(i, 0.0) for i in items}


def top(scores: dict[int, float], k: int) -> list[tuple[int, float]]:
    """The k best (item, score) pairs, best first; ties broken by item order for stability."""
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
