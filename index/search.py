"""Search a built index: `Index.load(path).search(q)` or the lazy module-level `search(q)`."""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedder import PRECISION, Embedder, get_embedder
from index.errors import REBUILD_HINT, IndexCorruptError, IndexMismatchError, QueryError
from index.fusion import rrf, top, weighted
from index.settings import Settings
from index.store import Generation, current_generation, read_generation
from ingest.types import Table, page_ref

MAX_QUERY_CHARS = 2000  # the model reads ~256 tokens; longer queries are cut, not refused
MODES = ("hybrid", "dense", "bm25")
_DEMONYM_ENDINGS = ("ean", "ian", "an", "ese", "ish", "ar", "i", "n", "s")  # Verde-an, Kosov-ar
CANDIDATES = 50  # how deep each retriever's list goes before fusion


@dataclass(frozen=True)
class Hit:
    text: str
    score: float  # cosine similarity of query and passage, in [-1, 1]
    doc_id: str
    title: str
    page: int | None
    chunk_id: str
    section: str | None = None
    source: str = ""
    # Cosine similarity of query and passage (None in bm25 mode, which loads no model).
    # Unlike `score`, whose scale depends on the mode, it is comparable across queries.
    similarity: float | None = None
    kind: str = "text"  # text, references, contents, figure or table (ingest.kinds)
    table: Table | None = None  # a table passage: its caption, header and these rows, each with its page
    page_label: str | None = None  # the page number printed on `page` ("13" on PDF page 29)

    def citation(self) -> str:
        """'Title, p. 13 (PDF p. 29)' (or the section for text files)."""
        where = page_ref(self.page, self.page_label) if self.page else (self.section or "")
        return f"{self.title}, {where}" if where else self.title


class Index:
    """A loaded, validated index generation plus the embedder that queries it."""

    def __init__(self, generation: Generation, settings: Settings, embedder: Embedder):
        import faiss

        # One query scans a few MB: FAISS's OpenMP threads cost more than they save, and on
        # two cores shared with any other busy process a 0.5 ms scan became 17 ms.
        faiss.omp_set_num_threads(max(1, settings.query_threads))
        built_with = generation.manifest.get("model", {}).get("precision")
        if PRECISION[embedder.backend] != built_with:  # query vectors must match the stored ones
            raise IndexMismatchError(f"index at {generation.path.parent} holds {built_with} vectors, but "
                                     f"the {embedder.backend} backend makes {PRECISION[embedder.backend]}; "
                                     f"{REBUILD_HINT}")
        self.generation = generation
        self.settings = settings
        self.embedder = embedder
        self.chunks = generation.chunks
        self._positions: dict[str, int] | None = None
        self._mentions: dict[tuple[str, int], np.ndarray] = {}
        # Chunks of one document are stored contiguously: doc_id -> (first, last + 1).
        self._doc_ranges: dict[str, tuple[int, int]] = {}
        for i, c in enumerate(self.chunks):
            lo, _ = self._doc_ranges.get(c.doc_id, (i, i))
            self._doc_ranges[c.doc_id] = (lo, i + 1)

    @classmethod
    def load(cls, path: str | Path | None = None, settings: Settings | None = None,
             embedder: Embedder | None = None) -> "Index":
        """Open the index at `path` (default: settings.index_dir); validate it against settings."""
        settings = settings or Settings.load()
        index_dir = Path(path) if path else settings.index_dir
        try:
            gen = read_generation(current_generation(index_dir), expect=settings.identity())
        except IndexCorruptError:
            # A rebuild may have swapped generations between reading CURRENT and the files.
            gen = read_generation(current_generation(index_dir), expect=settings.identity())
        return cls(gen, settings, embedder or get_embedder(settings.backend))

    def context(self, hit: Hit) -> tuple[str, int, int]:
        """The whole text of the page (or section) a hit comes from, and the hit's span in it:
        what a sentence cut by the chunk's edge is completed from."""
        c = self.chunks[self.position(hit.chunk_id)]
        if c.table is not None:
            raise QueryError(f"{c.chunk_id} is a table: it has rows, not page text")
        blocks = self.generation.blocks.get(c.doc_id, [])
        if c.block >= len(blocks) or blocks[c.block].text[c.start:c.end] != c.text:
            raise IndexCorruptError(f"block {c.block} of {c.doc_id} does not hold chunk {c.chunk_id}; "
                                    f"{REBUILD_HINT}")
        return blocks[c.block].text, c.start, c.end

    def table(self, hit: Hit) -> Table | None:
        """The whole table a table passage is part of: its rows are chunked a few at a time."""
        if hit.table is None:
            return None
        lo, hi = self._doc_ranges[hit.doc_id]
        parts = [c.table for c in self.chunks[lo:hi] if c.table is not None and c.section == hit.section]
        rows, pages = [], []
        for t in parts:
            for row, page in zip(t.rows, t.pages):
                if not rows or (row, page) != (rows[-1], pages[-1]):  # a long row cut over chunks
                    rows.append(row)
                    pages.append(page)
        return Table(hit.table.caption, hit.table.header, tuple(rows), tuple(pages))

    def page_label(self, doc_id: str, page: int | None) -> str | None:
        """The number printed on a physical page of an indexed PDF, if known."""
        return next((b.label for b in self.generation.blocks.get(doc_id, []) if b.page == page), None)

    def position(self, chunk_id: str) -> int:
        """Where a chunk sits in the index (its row in the vectors and in BM25)."""
        if self._positions is None:
            self._positions = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        try:
            return self._positions[chunk_id]
        except KeyError:
            raise QueryError(f"no chunk {chunk_id!r} in this index") from None

    def mentions(self, word: str, prefix: int = 0) -> np.ndarray:
        """Positions of the chunks that mention `word` (stemmed; title and section count).

        prefix=n (n >= 4): also any indexed word whose stem shares the first n letters of this
        one's ("Estonian" finds "Estonia"), or is this stem less a demonym ending ("Verdeans"
        finds "Verde"). Stopwords and absent words give an empty array.
        """
        key = (word.lower(), prefix)
        if key not in self._mentions:
            sparse = self.generation.sparse
            found = sparse.postings(word)
            stems = sparse.stems(word)
            if prefix >= 4 and len(stems) == 1:
                stem = next(iter(stems))
                related = {stem[:-len(end)] for end in _DEMONYM_ENDINGS
                           if stem.endswith(end) and len(stem) - len(end) >= 4}
                if len(stem) >= prefix:
                    vocab = sparse.vocabulary
                    i = bisect.bisect_left(vocab, stem[:prefix])
                    while i < len(vocab) and vocab[i].startswith(stem[:prefix]):
                        related.add(vocab[i])
                        i += 1
                for other in related - {stem}:
                    found = np.union1d(found, sparse.postings_of(other))
                for end in _DEMONYM_ENDINGS:  # "Israeli" -> "Israel" (the stemmer cuts it to "isra")
                    if word.lower().endswith(end) and len(word) - len(end) >= 4:
                        found = np.union1d(found, sparse.postings(word[:-len(end)]))
            if len(self._mentions) > 20_000:
                self._mentions.clear()
            self._mentions[key] = found
        return self._mentions[key]

    def doc_range(self, doc_id: str) -> tuple[int, int]:
        """Positions [first, last + 1) of a document's chunks."""
        return self._doc_ranges[doc_id]

    @property
    def documents(self) -> dict[str, str]:
        """doc_id -> title for every indexed document."""
        return {c.doc_id: c.title for c in self.chunks}

    def search(self, query: str, k: int = 5, doc: str | None = None,
               mode: str | None = None) -> list[Hit]:
        """The k passages that best match `query`, best first.

        mode: "hybrid" (default: BM25 and dense fused), "dense" or "bm25".
        doc: restrict to one document id.
        """
        query = _check(query, k)
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise QueryError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        if doc is not None and doc not in self._doc_ranges:
            raise QueryError(f"unknown document {doc!r}; indexed: {', '.join(sorted(self._doc_ranges))}")
        lo, hi = self._doc_ranges[doc] if doc is not None else (0, len(self.chunks))
        k = min(k, hi - lo)
        if k == 0:
            return []
        depth = min(hi - lo, max(CANDIDATES, k))
        dense: dict[int, float] = {}
        qvec = None
        if mode != "bm25":
            qvec = self.embedder.encode_query(query, threads=self.settings.query_threads)
            dense = self._dense(qvec, depth, lo, hi)
            if mode == "dense":
                return [self.hit(i, s, s) for i, s in top(dense, k)]
        sparse = self._sparse(query, depth, lo, hi)
        if mode == "bm25":
            return [self.hit(i, s) for i, s in top(sparse, k)]
        if self.settings.fusion == "rrf":
            fused = rrf([[i for i, _ in top(dense, depth)], [i for i, _ in top(sparse, depth)]])
        else:
            fused = weighted(dense, sparse, self.settings.alpha)
        best = top(fused, k)
        vecs = self.generation.faiss_index.reconstruct_batch(np.array([i for i, _ in best], dtype=np.int64))
        sims = vecs @ qvec
        return [self.hit(i, s, float(sim)) for (i, s), sim in zip(best, sims)]

    def _dense(self, qvec: np.ndarray, depth: int, lo: int, hi: int) -> dict[int, float]:
        import faiss

        params = None
        if (lo, hi) != (0, len(self.chunks)):
            params = faiss.SearchParameters(sel=faiss.IDSelectorRange(lo, hi))
        scores, ids = self.generation.faiss_index.search(qvec[None, :], depth, params=params)
        return {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}

    def _sparse(self, query: str, depth: int, lo: int, hi: int) -> dict[int, float]:
        scores = self.generation.sparse.scores(query)[lo:hi]
        if not scores.any():
            return {}
        best = np.argpartition(-scores, min(depth, len(scores)) - 1)[:depth]
        return {int(i) + lo: float(scores[i]) for i in best if scores[i] > 0}

    def hit(self, position: int, score: float, similarity: float | None = None) -> Hit:
        c = self.chunks[position]
        return Hit(text=c.text, score=score, doc_id=c.doc_id, title=c.title, page=c.page,
                   chunk_id=c.chunk_id, section=c.section, source=c.source, similarity=similarity,
                   kind=c.kind, table=c.table, page_label=c.page_label)


def _check(query: str, k: int) -> str:
    if not isinstance(query, str) or not query.strip():
        raise QueryError("the query is empty; ask a question or give some words to search for")
    if not isinstance(k, int) or k < 1:
        raise QueryError(f"k must be a whole number of at least 1, got {k!r}")
    return query.strip()[:MAX_QUERY_CHARS]


_lock = threading.Lock()
_open: dict[Path, Index] = {}


def open_index(path: str | Path | None = None) -> Index:
    """The shared Index for `path`, reloaded when a rebuild has swapped in a new generation."""
    settings = Settings.load()
    index_dir = Path(path) if path else settings.index_dir
    live = current_generation(index_dir)
    with _lock:
        idx = _open.get(index_dir)
        if idx is None or idx.generation.path != live:
            idx = Index.load(index_dir, settings)
            _open[index_dir] = idx
        return idx


def search(query: str, k: int = 5, doc: str | None = None, mode: str | None = None,
           index_dir: str | Path | None = None) -> list[Hit]:
    """Search the default index (HPSR_INDEX or .hpsr/index); loads it lazily on first call."""
    return open_index(index_dir).search(query, k=k, doc=doc, mode=mode)
