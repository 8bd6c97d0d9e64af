"""Measure the paraphrase-recall ideas of issue 24 against the hybrid search as built, on one index.

    python eval/retrieval_ideas.py --index DIR [QUESTIONS.jsonl ...]   (default: eval/dev sets)

Each idea changes one thing at query time, on the same index, and prints recall@1 / recall@5
per question set beside the baseline of the same run:
- prf: pseudo-relevance feedback, as the product does it (Settings.feedback_terms): the 5
  words weighing most (count x idf) in the 3 best hybrid passages are searched with BM25 too,
  at 0.1 of the question's weight (RM3-like);
- neighbours: each content word of the question absent from the index adds its 2 nearest index
  words in the embedding (cosine >= 0.6) to the BM25 query, at 0.3 weight;
- adapter: a linear map on question vectors, fitted on inverse-cloze pseudo-queries (a
  sentence of a passage as the query, its passage as the positive, in-batch softmax, L2 pull to
  the identity), seconds of numpy;
- gap fusion: per question, alpha from how far each list's top score stands out (a rule
  needing no labels);
- alpha / sentence weight sweeps: the fusion weights a per-library fit would choose among.
The time each idea adds (fitting, embedding the vocabulary) is printed with it. Of these,
only prf is in the product: docs/retrieval.md says why, with these figures. (Table rows
embedded as sentences change the index, not the query: compare `hpsr eval` on two builds.)
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index import Index  # noqa: E402
from index.evaluate import is_relevant, load_questions  # noqa: E402
from index.faiss_search import dense_scores, sentence_evidence, sparse_scores  # noqa: E402
from index.fusion import top, weighted  # noqa: E402
from index.sparse import FEEDBACK_PASSAGES, FEEDBACK_WEIGHT  # noqa: E402
from ingest.lexicon import FUNCTION_WORDS, stems, tokenize  # noqa: E402

DEPTH = 50


class Run:
    def __init__(self, idx: Index):
        self.idx, self.n = idx, len(idx.chunks)
        self.sparse = idx.generation.sparse

    def lists(self, query: str, qvec: np.ndarray) -> tuple[dict, dict]:
        gen, settings = self.idx.generation, self.idx.settings
        dense = dense_scores(gen, qvec, DEPTH, 0, self.n)
        if settings.sentence_weight > 0:
            dense = sentence_evidence(gen, qvec, dense, DEPTH, 0, self.n, settings.sentence_weight)
        return dense, sparse_scores(gen, query, DEPTH, 0, self.n)

    def expanded(self, query: str, words: list[str], beta: float) -> dict:
        """BM25 scores of the question plus beta x those of the extra words."""
        tot = self.sparse.scores(query)
        ids = self.sparse.retriever.get_tokens_ids(tokenize([" ".join(words)])[0]) if words else []
        if ids:
            tot = tot + beta * self.sparse.retriever.get_scores_from_ids(ids)[: self.n]
        return self.expanded_scores(tot)

    @staticmethod
    def expanded_scores(tot: np.ndarray) -> dict:
        best = np.argsort(-tot)[:DEPTH]
        return {int(i): float(tot[i]) for i in best if tot[i] > 0}


def score(idx: Index, sets: dict[str, list[dict]], rank) -> str:
    out = []
    for name, qs in sets.items():
        ranks = []
        for q in qs:
            hits = [i for i, _ in rank(q["question"])][:10]
            ranks.append(next((r for r, i in enumerate(hits, 1) if is_relevant(idx.hit(i, 0.0), q)), None))
        r1 = sum(r == 1 for r in ranks) / len(ranks)
        r5 = sum(r is not None and r <= 5 for r in ranks) / len(ranks)
        out.append(f"{name} {r1:.2f}/{r5:.2f}")
    return "  ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("questions", nargs="*")
    args = ap.parse_args()
    files = args.questions or [f"eval/dev/{s}.jsonl" for s in ("pdfs", "tables", "report")]
    sets = {f"{Path(f).parent.name}/{Path(f).stem}": [q for q in load_questions(f) if not q.get("expect_abstain")]
            for f in files}
    idx = Index.load(args.index)
    run, emb = Run(idx), idx.embedder
    qvecs: dict[str, np.ndarray] = {}

    def qvec(text: str) -> np.ndarray:
        if text not in qvecs:
            qvecs[text] = emb.encode_query(text)
        return qvecs[text]

    def hybrid(query, vec=None, alpha=None, sparse=None):
        dense, bm25 = run.lists(query, qvec(query) if vec is None else vec)
        return top(weighted(dense, bm25 if sparse is None else sparse, idx.settings.alpha if alpha is None else alpha), 10)

    def show(label: str, rank, seconds: float = 0.0) -> None:
        extra = f"   (+{seconds:.1f} s at ingest)" if seconds else ""
        print(f"{label:28s} {score(idx, sets, rank)}{extra}", flush=True)

    show("hybrid, no feedback", hybrid)

    # PRF (RM3-like) from the first hybrid passages: the product's (index.sparse.with_feedback).
    def prf(query):
        best = [idx.chunks[c].text for c, _ in hybrid(query)[:FEEDBACK_PASSAGES]]
        scores = run.sparse.with_feedback(query, best, 5, FEEDBACK_WEIGHT)
        return hybrid(query, sparse=run.expanded_scores(scores))
    show("prf (in the product)", prf)

    # Embedding neighbours of out-of-index question words.
    start = time.perf_counter()
    counts = Counter(w for c in idx.chunks for w in set(re.findall(r"[a-z][a-z-]{2,}", c.text.lower())))
    vocab = sorted(w for w, n in counts.items() if n >= 2 and w not in FUNCTION_WORDS)
    V = emb.encode(vocab, threads=2)
    vocab_s = time.perf_counter() - start

    def neighbours(query):
        extra = []
        for w in set(re.findall(r"[a-z][a-z-]{2,}", query.lower())) - FUNCTION_WORDS:
            if len(run.sparse.postings_of(tokenize([w])[0][0] if tokenize([w])[0] else w)):
                continue
            sims = V @ qvec(w)
            extra += [vocab[i] for i in np.argsort(-sims)[:5] if sims[i] >= 0.6 and not stems(vocab[i]) & stems(w)][:2]
        return hybrid(query, sparse=run.expanded(query, extra, 0.3))
    show("neighbours", neighbours, vocab_s)

    # Query adapter on inverse-cloze pseudo-queries.
    start = time.perf_counter()
    P = np.asarray(idx.generation.chunk_vectors(list(range(run.n))), dtype=np.float32)
    rnd = random.Random(0)
    texts, target = [], []
    for pos, c in enumerate(idx.chunks):
        if c.table is None:
            spans, _ = idx.generation.sentences.of_chunk(pos)
            sents = [c.text[s:e] for s, e in spans if e - s > 40]
            for s in rnd.sample(sents, min(3, len(sents))):
                texts.append(s)
                target.append(pos)
    Q = emb.encode(texts, threads=2)
    W = np.eye(Q.shape[1], dtype=np.float32)
    rows = np.arange(len(target))
    for _ in range(200):
        A = Q @ W.T
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        S = 20.0 * (A @ P.T)
        E = np.exp(S - S.max(1, keepdims=True))
        G = E / E.sum(1, keepdims=True)
        G[rows, target] -= 1
        W -= 0.5 * ((20.0 * (G @ P) / len(target)).T @ Q + 0.1 * (W - np.eye(len(W))))
    adapter_s = time.perf_counter() - start

    def adapted(query):
        v = W @ qvec(query)
        return hybrid(query, vec=(v / np.linalg.norm(v)).astype(np.float32))
    show(f"adapter ({len(texts)} pseudo-q)", adapted, adapter_s)

    # Label-free per-question fusion by score gaps.
    def gap(scores: dict) -> float:
        v = np.sort(np.fromiter(scores.values(), float))[::-1]
        return 0.0 if len(v) < 3 else float((v[0] - v[1:10].mean()) / (v[:20].std() + 1e-9))

    def gap_fused(query):
        dense, bm25 = run.lists(query, qvec(query))
        gd, gs = gap(dense), gap(bm25)
        return top(weighted(dense, bm25, gd / (gd + gs) if gd + gs > 0 else 0.5), 10)
    show("gap fusion", gap_fused)

    for a in (0.3, 0.4, 0.6, 0.7):
        show(f"alpha {a}", lambda q, a=a: hybrid(q, alpha=a))
    base = idx.settings
    for w in (0.3, 0.7):
        idx.settings = dataclasses.replace(base, sentence_weight=w)
        show(f"sentence weight {w}", hybrid)
    idx.settings = base


if __name__ == "__main__":
    main()
