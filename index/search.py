"""Search a built index: `Index.load(path).search(q)` or the lazy module-level `search(q)`."""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedder import Embedder, embedder_for
from index.model import PRECISION
from index.errors import REBUILD_HINT, IndexCorruptError, IndexMismatchError, QueryError
from index.settings import Settings
from index.paths import path_of, roots
from index.stores import LoadedGeneration, store_for
from ingest.lexicon import DEMONYM_ENDINGS
from ingest.types import Block, Table, address

MAX_QUERY_CHARS = 2000  # the model reads ~256 tokens; longer queries are cut, not refused
MODES = ("hybrid", "dense", "bm25")
CANDIDATES = 50  # how deep each retriever's list goes before fusion
MENTIONS_CACHE = 20_000  # words whose chunks an Index remembers (answerability asks for them)


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
    ocr: bool = False  # the passage was read by OCR from a scanned page

    def citation(self) -> str:
        """'Title, p. 13 (PDF p. 29)' (ingest.types.address)."""
        where = address(self.page, self.page_label, self.section, self.ocr)
        return f"{self.title}, {where}" if where else self.title


class Index:
    """A loaded, validated index generation plus the embedder that queries it."""

    def __init__(self, generation: LoadedGeneration, settings: Settings, embedder: Embedder):
        import faiss

        # One query scans a few MB: FAISS's OpenMP threads cost more than they save, and on
        # two cores shared with any other busy process a 0.5 ms scan became 17 ms.
        faiss.omp_set_num_threads(max(1, settings.query_threads))
        built_with = generation.manifest.model.get("precision")
        if PRECISION[embedder.backend] != built_with:  # query vectors must match the stored ones
            raise IndexMismatchError(f"{generation.where} holds {built_with} vectors, but "
                                     f"the {embedder.backend} backend makes {PRECISION[embedder.backend]}; "
                                     f"{REBUILD_HINT}")
        self.generation = generation
        self.live = generation.name  # the live generation it was loaded for (load sets it)
        self.settings = settings
        self._roots = roots(settings)
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
        store = store_for(index_dir, settings)
        live = store.live_name()
        idx = cls(store.open(expect=settings.identity()), settings,
                  embedder or embedder_for(settings))
        idx.live = live
        return idx

    def passage(self, hit: Hit) -> tuple[Block, int, int]:
        """The block (page or section, with its quotable sentences) a hit comes from, and the
        hit's span in its text."""
        c = self.chunks[self.position(hit.chunk_id)]
        if c.table is not None:
            raise QueryError(f"{c.chunk_id} is a table: it has rows, not page text")
        blocks = self.generation.blocks.get(c.doc_id, [])
        if c.block >= len(blocks) or blocks[c.block].text[c.start:c.end] != c.text:
            raise IndexCorruptError(f"block {c.block} of {c.doc_id} does not hold chunk {c.chunk_id}; "
                                    f"{REBUILD_HINT}")
        return blocks[c.block], c.start, c.end

    def sentence_vector(self, hit: Hit, start: int, end: int) -> np.ndarray | None:
        """The stored vector of the sentence at [start, end) of the hit's block: from the hit's
        chunk or a neighbour of it on the same page, whichever holds more of the sentence (a
        sentence cut by a chunk's edge is whole in the next one, thanks to the overlap)."""
        here = self.position(hit.chunk_id)
        c = self.chunks[here]
        best, size = None, 0
        for pos in (here - 1, here, here + 1):
            if not 0 <= pos < len(self.chunks):
                continue
            n = self.chunks[pos]
            if n.doc_id != c.doc_id or n.block != c.block or n.table is not None:
                continue
            s, e = max(start, n.start) - n.start, min(end, n.end) - n.start
            if e - s <= size:
                continue
            spans, vecs = self.generation.sentences.of_chunk(pos)
            match = np.flatnonzero((spans[:, 0] == s) & (spans[:, 1] == e))
            if len(match) and vecs[match[0]].any():
                best, size = vecs[match[0]], e - s
        return best

    def table(self, hit: Hit) -> Table | None:
        """The whole table a table passage is part of: its rows are chunked a few at a time."""
        if hit.table is None:
            return None
        rows = self._table_rows(hit)
        return Table(hit.table.caption, hit.table.header, tuple(r for r, _, _, _ in rows),
                     tuple(p for _, p, _, _ in rows))

    def row_vectors(self, hit: Hit) -> list[np.ndarray | None]:
        """The stored vector of each row of `table(hit)` (its line in a table chunk)."""
        out = []
        for _, _, pos, line in self._table_rows(hit):
            _, vecs = self.generation.sentences.of_chunk(pos)
            out.append(vecs[line] if line < len(vecs) and vecs[line].any() else None)
        return out

    def _table_rows(self, hit: Hit) -> list[tuple[tuple[str, ...], int, int, int]]:
        """(row, page, chunk position, line in that chunk) for each row of a passage's table."""
        lo, hi = self._doc_ranges[hit.doc_id]
        out: list[tuple[tuple[str, ...], int, int, int]] = []
        for pos in range(lo, hi):
            t = self.chunks[pos].table
            if t is None or self.chunks[pos].section != hit.section:
                continue
            for line, (row, page) in enumerate(zip(t.rows, t.pages)):
                if not out or (row, page) != out[-1][:2]:  # a long row cut over chunks
                    out.append((row, page, pos, line))
        return out

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
        one's ("Chilean" finds "Chile"), or is this stem less a demonym ending ("Bhutanese"
        finds "Bhutan"). Stopwords and absent words give an empty array.
        """
        key = (word.lower(), prefix)
        found = self._mentions.get(key)
        if found is None:
            sparse = self.generation.sparse
            found = sparse.postings(word)
            stems = sparse.stems(word)
            if prefix >= 4 and len(stems) == 1:
                stem = next(iter(stems))
                related = {stem[:-len(end)] for end in DEMONYM_ENDINGS
                           if stem.endswith(end) and len(stem) - len(end) >= 4}
                if len(stem) >= prefix:
                    vocab = sparse.vocabulary
                    i = bisect.bisect_left(vocab, stem[:prefix])
                    while i < len(vocab) and vocab[i].startswith(stem[:prefix]):
                        related.add(vocab[i])
                        i += 1
                for other in related - {stem}:
                    found = np.union1d(found, sparse.postings_of(other))
                for end in DEMONYM_ENDINGS:  # "Omani" -> "Oman" (the stemmer cuts it to "oman")
                    if word.lower().endswith(end) and len(word) - len(end) >= 4:
                        found = np.union1d(found, sparse.postings(word[:-len(end)]))
            if len(self._mentions) > MENTIONS_CACHE:
                self._mentions.clear()  # another thread's entry may go too: each returns its own
            self._mentions[key] = found
        return found

    def doc_range(self, doc_id: str) -> tuple[int, int]:
        """Positions [first, last + 1) of a document's chunks."""
        return self._doc_ranges[doc_id]

    @property
    def documents(self) -> dict[str, str]:
        """doc_id -> title for every indexed document."""
        return {c.doc_id: c.title for c in self.chunks}

    def document_text(self, doc_id: str) -> str:
        """A document's text as indexed: each section's heading, then its text (KeyError for an
        unknown id). What the viewer shows of a file that is not text itself (Word, web page)."""
        lo, hi = self._doc_ranges[doc_id]
        parts = []
        for block in self.generation.blocks.get(doc_id, []):
            parts += [block.section, block.text] if block.section else [block.text]
        caption = None
        for c in self.chunks[lo:hi]:  # its tables, after the text, each row a line
            if c.table is not None:
                parts += [c.text] if c.table.caption == caption else [c.table.caption, c.text]
                caption = c.table.caption
        return "\n\n".join(parts)

    def source_path(self, doc_id: str) -> Path:
        """Where the file of an indexed document is now (KeyError for an unknown id)."""
        lo, _ = self.doc_range(doc_id)
        return path_of(self.chunks[lo].source, self._roots)

    def search(self, query: str, k: int = 5, doc: str | None = None,
               mode: str | None = None, vector: np.ndarray | None = None) -> list[Hit]:
        """The k passages that best match `query`, best first.

        mode: "hybrid" (default: BM25 and dense fused), "dense" or "bm25".
        doc: restrict to one document id.
        vector: the query's embedding, if the caller has made it already.
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
        qvec = vector  # bm25 embeds nothing itself; a vector given still yields the hits' cosines
        if qvec is None and mode != "bm25":
            qvec = self.embedder.encode_query(query, threads=self.settings.query_threads)
        best = self.generation.search(query, qvec, mode, depth, k, doc, lo, hi, self.settings)
        if qvec is None or not best:
            return [self.hit(i, s) for i, s in best]
        # Each hit's own cosine to the query (comparable across queries, whatever the score is).
        sims = self.generation.chunk_vectors([i for i, _ in best]) @ qvec
        return [self.hit(i, s, float(sim)) for (i, s), sim in zip(best, sims)]

    def hit(self, position: int, score: float, similarity: float | None = None) -> Hit:
        c = self.chunks[position]
        return Hit(text=c.text, score=score, doc_id=c.doc_id, title=c.title, page=c.page,
                   chunk_id=c.chunk_id, section=c.section, source=str(path_of(c.source, self._roots)),
                   similarity=similarity,
                   kind=c.kind, table=c.table, page_label=c.page_label, ocr=c.ocr)


def _check(query: str, k: int) -> str:
    if not isinstance(query, str) or not query.strip():
        raise QueryError("the query is empty; ask a question or give some words to search for")
    if not isinstance(k, int) or k < 1:
        raise QueryError(f"k must be a whole number of at least 1, got {k!r}")
    return query.strip()[:MAX_QUERY_CHARS]


_lock = threading.Lock()
_open: dict[tuple[Path, Settings], Index] = {}


def open_index(path: str | Path | None = None, settings: Settings | None = None) -> Index:
    """The shared Index for `path` (default settings.index_dir), reloaded when a rebuild has
    swapped in a new generation."""
    settings = settings or Settings.load()
    index_dir = Path(path) if path else settings.index_dir
    live = store_for(index_dir, settings).live_name()
    with _lock:
        idx = _open.get((index_dir, settings))
        if idx is None or idx.live != live:  # (a damaged live generation is not reloaded per call)
            idx = Index.load(index_dir, settings)
            for key in [k for k in _open if k[0] == index_dir]:  # one reader per folder: release the old
                del _open[key]
            _open[(index_dir, settings)] = idx
        return idx


def search(query: str, k: int = 5, doc: str | None = None, mode: str | None = None,
           index_dir: str | Path | None = None) -> list[Hit]:
    """Search the default index (HPSR_INDEX or .hpsr/index); loads it lazily on first call."""
    return open_index(index_dir).search(query, k=k, doc=doc, mode=mode)
