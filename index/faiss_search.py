"""How the default store ranks: FAISS over the chunk and sentence vectors, bm25s over the
texts, fused (index.fusion), with BM25 feedback from the first passages (index.sparse).
The Qdrant store ranks inside Qdrant (index.qdrant_store) to the same rules."""
from __future__ import annotations

import numpy as np

from index.fusion import rrf, top, weighted, with_best_sentence
from index.sparse import FEEDBACK_PASSAGES, FEEDBACK_WEIGHT


def rank(gen, query: str, qvec: np.ndarray | None, mode: str, depth: int, k: int, lo: int, hi: int,
         settings) -> list[tuple[int, float]]:
    """The best k (chunk position, score) in [lo, hi) of a generation, by `mode`."""
    dense: dict[int, float] = {}
    if mode != "bm25":
        dense = dense_scores(gen, qvec, depth, lo, hi)
        if settings.sentence_weight > 0:
            dense = sentence_evidence(gen, qvec, dense, depth, lo, hi, settings.sentence_weight)
    bm25 = gen.sparse.scores(query) if mode != "dense" else None  # every chunk's, kept for feedback
    sparse = best_of(bm25[lo:hi], depth, lo) if bm25 is not None else {}
    if mode == "bm25":
        return top(sparse, k)
    if mode == "dense":
        return top(dense, k)
    fused = fuse(dense, sparse, depth, settings)
    if settings.feedback_terms and sparse:
        best = [gen.chunks[i].text for i, _ in top(fused, FEEDBACK_PASSAGES)]
        scores = gen.sparse.with_feedback(query, best, settings.feedback_terms, FEEDBACK_WEIGHT, scores=bm25)[lo:hi]
        fused = fuse(dense, best_of(scores, depth, lo), depth, settings)
    return top(fused, k)


def fuse(dense: dict[int, float], sparse: dict[int, float], depth: int, settings) -> dict[int, float]:
    """The two lists as one (Settings.fusion, Settings.alpha)."""
    if settings.fusion == "rrf":
        return rrf([[i for i, _ in top(dense, depth)], [i for i, _ in top(sparse, depth)]])
    return weighted(dense, sparse, settings.alpha)


def dense_scores(gen, qvec: np.ndarray, depth: int, lo: int, hi: int) -> dict[int, float]:
    import faiss

    params = None
    if (lo, hi) != (0, len(gen.chunks)):
        params = faiss.SearchParameters(sel=faiss.IDSelectorRange(lo, hi))
    scores, ids = gen.faiss_index.search(qvec[None, :], depth, params=params)
    return {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}


def sentence_evidence(gen, qvec: np.ndarray, dense: dict[int, float], depth: int, lo: int, hi: int,
                      weight: float) -> dict[int, float]:
    """Dense scores that count a passage's best sentence too: (1 - w) * the passage's cosine
    + w * its best sentence's (Settings.sentence_weight), over the passages the dense search
    found and those holding the sentences closest to the query. A question worded like one
    sentence of a long passage finds it, though the passage as a whole is about more."""
    import faiss

    sv = gen.sentences
    first, last = sv.range(lo, hi)
    best: dict[int, float] = {}
    if last > first:
        params = None if (first, last) == (0, len(sv.rows)) else faiss.SearchParameters(
            sel=faiss.IDSelectorRange(first, last))
        scores, ids = sentence_index(gen).search(qvec[None, :], min(3 * depth, last - first), params=params)
        for score, i in zip(scores[0], ids[0]):
            if i >= 0:
                c = int(sv.rows[i, 0])
                best[c] = max(best.get(c, -1.0), float(score))
    found = sorted(best, key=best.get, reverse=True)[:depth]
    chunk = dict(dense)
    missing = [c for c in found if c not in chunk]
    if missing:
        vecs = gen.chunk_vectors(missing)
        chunk.update(zip(missing, (vecs @ qvec).tolist()))
    for c, cos in chunk.items():
        if c not in best:  # not among the closest sentences: its own best, if it has any
            _, vecs = sv.of_chunk(c)
            best[c] = float((vecs @ qvec).max()) if len(vecs) else cos
    return with_best_sentence(chunk, best, weight)


def sentence_index(gen):
    """A FAISS index over a generation's sentence vectors (float16 codes, as stored), built on
    first use and kept with the generation."""
    if gen.sentence_faiss is None:
        import faiss

        vectors = np.asarray(gen.sentences.vectors, dtype=np.float32)
        index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                           faiss.METRIC_INNER_PRODUCT)
        index.add(vectors)
        gen.sentence_faiss = index
    return gen.sentence_faiss


def sparse_scores(gen, query: str, depth: int, lo: int, hi: int) -> dict[int, float]:
    return best_of(gen.sparse.scores(query)[lo:hi], depth, lo)


def best_of(scores: np.ndarray, depth: int, lo: int) -> dict[int, float]:
    """The `depth` best positive scores of a slice that starts at chunk position `lo`."""
    if not scores.any():
        return {}
    best = np.argpartition(-scores, min(depth, len(scores)) - 1)[:depth]
    return {int(i) + lo: float(scores[i]) for i in best if scores[i] > 0}
