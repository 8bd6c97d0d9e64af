"""BM25 over the same chunks as the dense index (bm25s), for exact names, numbers, acronyms."""
from __future__ import annotations

import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from ingest.lexicon import stems, tokenize  # the one tokenizer: questions are matched as chunks are indexed

SPARSE_DIR = "bm25"
FEEDBACK_PASSAGES = 3  # pseudo-relevance feedback: the words of the first passages of hybrid search,
FEEDBACK_WEIGHT = 0.1  # searched at this share of the question's BM25 weight (Settings.feedback_terms)


def write_sparse(gen_dir: Path, texts: list[str]) -> None:
    """Index `texts` (one per chunk, in chunk order) with BM25 and save under gen_dir."""
    import bm25s

    retriever = bm25s.BM25()
    tokens = tokenize(texts) if texts else []
    # bm25s needs at least one token overall; an empty corpus gets a placeholder document.
    retriever.index(tokens if any(tokens) else [["\x00empty"]] * max(1, len(texts)),
                    show_progress=False)
    retriever.save(str(gen_dir / SPARSE_DIR), show_progress=False, allow_pickle=False)


class Lookup:
    """Which chunks hold a word: what answerability asks of either store's BM25 index.
    Subclasses give `postings_of(token)`, `vocabulary` and `n`, the number of chunks."""

    def postings(self, word: str) -> np.ndarray:
        """Positions of the chunks whose indexed text (title and section included) holds `word`
        (stemmed as the index stores it); empty for a stopword or a word no chunk holds."""
        tokens = tokenize([word])[0]
        if not tokens:
            return np.zeros(0, dtype=np.int64)
        out = self.postings_of(tokens[0])
        for token in tokens[1:]:  # a hyphenated word is several tokens: chunks holding all of them
            out = np.intersect1d(out, self.postings_of(token))
        return out

    def stems(self, text: str) -> frozenset[str]:
        """The stemmed, stopword-free tokens of `text`, as the index stores them."""
        return stems(text)

    def feedback_words(self, query: str, texts: list[str], terms: int) -> list[str]:
        """Pseudo-relevance feedback (RM3-like): the `terms` index tokens that weigh most (count
        x idf) in `texts`, the best passages found for `query`, other than its own and those of
        one chunk only. A question worded otherwise than its page still shares words with the
        passages around it; searched too, those words reach the page."""
        asked = set(tokenize([query])[0])
        weigh: Counter = Counter()
        for tokens in tokenize(texts) if terms > 0 else []:
            for t, n in Counter(tokens).items():
                df = len(self.postings_of(t)) if t not in asked else 0
                if df > 1:
                    weigh[t] += n * np.log(self.n / df)
        return [t for t, _ in weigh.most_common(terms)]


class Sparse(Lookup):
    """A loaded BM25 index; `scores(query)` gives one score per chunk."""

    def __init__(self, gen_dir: Path, n_chunks: int):
        import bm25s

        # allow_pickle=False (also bm25s's default, stated so no upgrade can change it): a
        # planted object array in an index directory is refused, never unpickled.
        self.retriever = bm25s.BM25.load(str(gen_dir / SPARSE_DIR), mmap=False, allow_pickle=False,
                                         load_corpus=False)
        self.n = n_chunks

    def postings_of(self, token: str) -> np.ndarray:
        """Positions of the chunks holding one stemmed token."""
        t = self.retriever.vocab_dict.get(token)
        if t is None:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self.retriever.scores["indptr"], self.retriever.scores["indices"]
        return np.asarray(indices[indptr[t]:indptr[t + 1]], dtype=np.int64)

    @property
    def vocabulary(self) -> list[str]:
        """Every stemmed token of the index, sorted (for prefix lookups)."""
        if not hasattr(self, "_vocabulary"):
            self._vocabulary = sorted(t for t in self.retriever.vocab_dict if t)
        return self._vocabulary

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        tokens = tokenize([query])[0]
        ids = self.retriever.get_tokens_ids(tokens)
        if not ids or self.n == 0:
            return np.zeros(self.n, dtype=np.float32)
        return self.retriever.get_scores_from_ids(ids, weight_mask=mask)[: self.n]

    def with_feedback(self, query: str, texts: list[str], terms: int, weight: float,
                      scores: np.ndarray | None = None) -> np.ndarray:
        """BM25 scores of `query` (`scores`, if the caller has them already) plus `weight` times
        those of its feedback words from `texts` (Lookup.feedback_words)."""
        scores = self.scores(query) if scores is None else scores
        ids = self.retriever.get_tokens_ids(self.feedback_words(query, texts, terms))
        if ids and self.n:
            scores = scores + weight * self.retriever.get_scores_from_ids(ids)[: self.n]
        return scores


# BM25 as sparse vectors, for a store that scores them itself (Qdrant): a document's vector holds
# each token's saturated term frequency, and the store multiplies in the IDF at query time. With
# bm25s's defaults (Lucene BM25, k1 1.5, b 0.75) both stores rank alike.
K1, B = 1.5, 0.75


def token_id(token: str) -> int:
    """A stable 32-bit id for a token: no vocabulary to store or keep in step (a collision of
    two tokens is rare and only merges their counts)."""
    return zlib.crc32(token.encode("utf-8"))


def bm25_vectors(tokens: list[list[str]]) -> list[dict[int, float]]:
    """Each tokenized text as {token id: tf / (tf + k1 (1 - b + b dl / avgdl))} (Lucene's BM25,
    as bm25s scores it: no (k1 + 1) factor)."""
    avgdl = (sum(map(len, tokens)) / len(tokens)) if tokens else 1.0
    out = []
    for doc in tokens:
        norm = K1 * (1 - B + B * len(doc) / max(avgdl, 1e-9))
        out.append({token_id(t): n / (n + norm) for t, n in Counter(doc).items()})
    return out


def query_vector(query: str, extra: list[str] = (), weight: float = 0.0) -> dict[int, float]:
    """A query as a sparse vector: each token's count (repeated words count again, as in bm25s),
    plus `weight` for each token of `extra` (feedback words: BM25 of the query plus weight x
    BM25 of those words, as Sparse.with_feedback scores them)."""
    vector = {token_id(t): float(n) for t, n in Counter(tokenize([query])[0]).items()}
    for t in extra:
        vector[token_id(t)] = vector.get(token_id(t), 0.0) + weight
    return vector


class Postings(Lookup):
    """Which chunks hold each token, from the tokenized chunk texts (a store without bm25s files)."""

    def __init__(self, tokens: list[list[str]]):
        self.n = len(tokens)
        where: dict[str, list[int]] = {}
        for pos, doc in enumerate(tokens):
            for t in set(doc):
                where.setdefault(t, []).append(pos)
        self._where = {t: np.array(p, dtype=np.int64) for t, p in where.items()}
        self.vocabulary = sorted(t for t in self._where if t)

    def postings_of(self, token: str) -> np.ndarray:
        return self._where.get(token, np.zeros(0, dtype=np.int64))
