"""BM25 over the same chunks as the dense index (bm25s), for exact names, numbers, acronyms."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

SPARSE_DIR = "bm25"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: Snowball English, so "members" matches "member"

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lowercased, English-stopword-free, stemmed word tokens, as the BM25 index stores them."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False,
                          show_progress=False)


def write_sparse(gen_dir: Path, texts: list[str]) -> None:
    """Index `texts` (one per chunk, in chunk order) with BM25 and save under gen_dir."""
    import bm25s

    retriever = bm25s.BM25()
    tokens = tokenize(texts) if texts else []
    # bm25s needs at least one token overall; an empty corpus gets a placeholder document.
    retriever.index(tokens if any(tokens) else [["\x00empty"]] * max(1, len(texts)),
                    show_progress=False)
    retriever.save(str(gen_dir / SPARSE_DIR), show_progress=False, allow_pickle=False)


class Sparse:
    """A loaded BM25 index; `scores(query)` gives one score per chunk."""

    def __init__(self, gen_dir: Path, n_chunks: int):
        import bm25s

        # allow_pickle=False (also bm25s's default, stated so no upgrade can change it): a
        # planted object array in an index directory is refused, never unpickled.
        self.retriever = bm25s.BM25.load(str(gen_dir / SPARSE_DIR), mmap=False, allow_pickle=False,
                                         load_corpus=False)
        self.n = n_chunks

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

    def postings_of(self, token: str) -> np.ndarray:
        """Positions of the chunks holding one stemmed token."""
        t = self.retriever.vocab_dict.get(token)
        if t is None:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self.retriever.scores["indptr"], self.retriever.scores["indices"]
        return np.asarray(indices[indptr[t]:indptr[t + 1]], dtype=np.int64)

    def stems(self, text: str) -> set[str]:
        """The stemmed, stopword-free tokens of `text`, as the index stores them."""
        return set(tokenize([text])[0])

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
