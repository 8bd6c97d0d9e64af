"""The index in Qdrant (HPSR_STORE=qdrant): a collection per generation, behind an alias.

A collection holds a point per chunk, with the chunk as payload and three vectors: "dense"
(the chunk's embedding), "sentences" (its quotable sentences' vectors, a multivector scored by
its best sentence) and "bm25" (sparse term weights; Qdrant multiplies in the IDF at query
time); a point per page or section (its text and quotable sentences, no vectors); and the
manifest, written last. A rebuild writes a new collection and moves the alias to it in one
call, so readers never see a mix, and a reader keeps searching the collection it loaded, not
the alias. Qdrant finds and scores the candidates (`QdrantGeneration.search`).
The index folder keeps only the build lock. Only this module imports qdrant_client.
"""
from __future__ import annotations

import atexit
import threading
import weakref
import uuid
from pathlib import Path

import numpy as np

from index.errors import REBUILD_HINT, ConfigError, IndexCorruptError, IndexNotFoundError, StoreUnavailableError
from index.generations import is_named, new_id, order
from index.manifest import FORMAT_VERSION, Manifest, check_manifest
from index.sentences import SentenceVectors
from index.settings import Settings
from index.sparse import FEEDBACK_PASSAGES, FEEDBACK_WEIGHT, Postings, bm25_vectors, query_vector
from index.texts import embedding_text
from ingest.lexicon import tokenize
from ingest.types import Block, Chunk

NAMESPACE = uuid.UUID("5b0f3a52-8f1e-4c1e-9a43-0c7e0b6c2a11")  # point ids: uuid5 of a stable key
MANIFEST_ID = str(uuid.uuid5(NAMESPACE, "manifest"))
BATCH = 256  # points per upsert request

_clients: dict[str, object] = {}
_lock = threading.Lock()
_held: weakref.WeakSet = weakref.WeakSet()  # generations loaded in this process: never pruned


def where(settings: Settings) -> str:
    return f"Qdrant at {settings.qdrant_url}" if settings.qdrant_url else f"embedded Qdrant in {settings.qdrant_path}"


def client(settings: Settings):
    """One client per server or folder in this process (embedded Qdrant allows one per folder)."""
    key = settings.qdrant_url or str(Path(settings.qdrant_path).expanduser().resolve())
    with _lock:
        if key not in _clients:
            try:
                from qdrant_client import QdrantClient
            except ImportError:
                raise ConfigError("HPSR_STORE=qdrant needs qdrant-client: pip install -e '.[qdrant]'") from None
            try:
                c = (QdrantClient(url=settings.qdrant_url, timeout=30) if settings.qdrant_url
                     else QdrantClient(path=key))
                c.get_collections()  # fail here, clearly, rather than on the first search
            except RuntimeError as e:  # embedded: the folder is open in another process
                raise StoreUnavailableError(f"{where(settings)} is unavailable: {e}") from None
            except Exception as e:  # noqa: BLE001 - connection refused, DNS, TLS, timeouts...
                raise StoreUnavailableError(f"cannot reach {where(settings)} ({_reason(e)}); is the server "
                                            f"running, and is HPSR_QDRANT_URL right?") from None
            _clients[key] = c
            atexit.register(c.close)  # before interpreter shutdown, when closing fails noisily
        return _clients[key]


def _reason(e: Exception) -> str:
    return str(e).splitlines()[0][:200] or type(e).__name__


def _call(settings: Settings, fn, *args, **kwargs):
    """A Qdrant request; a lost connection is a StoreUnavailableError, not a traceback."""
    try:
        return fn(*args, **kwargs)
    except (ConfigError, IndexCorruptError, IndexNotFoundError):
        raise
    except Exception as e:  # noqa: BLE001
        if "not found" in str(e).lower() and "collection" in str(e).lower():
            raise IndexCorruptError(f"{where(settings)}: {_reason(e)} (pruned by a rebuild?); reload "
                                    f"the index") from None
        raise StoreUnavailableError(f"{where(settings)} failed: {_reason(e)}") from None


def live_collection(settings: Settings) -> str:
    """The collection the alias names: the live generation."""
    c = client(settings)
    aliases = _call(settings, c.get_aliases).aliases
    name = next((a.collection_name for a in aliases if a.alias_name == settings.qdrant_collection), None)
    if name is None:
        raise IndexNotFoundError(f"no index in {where(settings)} under the alias "
                                 f"{settings.qdrant_collection!r}; {REBUILD_HINT}")
    return name


def _collections(settings: Settings) -> list[str]:
    """This alias's generations, oldest first: exactly "<alias>_<id>" (index.generations), so the
    alias "hpsr" never counts "hpsr_dev_…" among its own."""
    prefix = settings.qdrant_collection + "_"
    names = _call(settings, client(settings).get_collections).collections
    return sorted((c.name for c in names if is_named(c.name, prefix)), key=order)


class QdrantGeneration:
    """One collection, loaded: chunks, pages and manifest in memory; vectors stay in Qdrant."""

    def __init__(self, settings: Settings, name: str, expect: dict | None = None) -> None:
        self.settings, self.name, self.problem, self.damaged = settings, name, None, None
        self.where = f"{where(settings)}, collection {name}"
        c = client(settings)
        got = _call(settings, c.retrieve, name, [MANIFEST_ID], with_payload=True)
        if not got:
            raise IndexCorruptError(f"{self.where} is incomplete (no manifest); {REBUILD_HINT}")
        raw = got[0].payload["manifest"]
        check_manifest(raw, self.where, expect)
        try:
            self.manifest = Manifest.from_dict(raw)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise IndexCorruptError(f"{self.where} has an unreadable manifest ({e!r}); {REBUILD_HINT}") from e
        self.dim = self.manifest.dim
        chunks: dict[int, Chunk] = {}
        pages: dict[str, dict[int, Block]] = {}
        for p in self._scroll(with_payload=True):
            row = dict(p.payload)
            kind = row.pop("type")
            if kind == "chunk":
                pos = row.pop("position")
                row.pop("spans"), row.pop("quotable")
                chunks[pos] = Chunk.from_dict(row)
            elif kind == "page":
                doc_id, n = row.pop("doc_id"), row.pop("n")
                pages.setdefault(doc_id, {})[n] = Block.from_dict(row)
        if sorted(chunks) != list(range(self.manifest.chunks)):
            raise IndexCorruptError(f"{self.where} holds {len(chunks)} chunks, its manifest says "
                                    f"{self.manifest.chunks}; {REBUILD_HINT}")
        self.chunks = [chunks[i] for i in range(len(chunks))]
        self.ids = [chunk_point_id(c) for c in self.chunks]
        self._pos = {pid: i for i, pid in enumerate(self.ids)}
        self.blocks = {d: [b[n] for n in sorted(b)] for d, b in pages.items()}
        self._sentences: SentenceVectors | None = None
        self._lookup: Postings | None = None
        _held.add(self)

    def _scroll(self, **kwargs):
        c, offset = client(self.settings), None
        while True:
            points, offset = _call(self.settings, c.scroll, self.name, limit=1024, offset=offset, **kwargs)
            yield from points
            if offset is None:
                return

    @property
    def sparse(self) -> Postings:
        """Which chunks hold a word (answerability asks), from the chunks' indexed texts."""
        if self._lookup is None:
            self._lookup = Postings(tokenize([embedding_text(c, self.manifest.chunker["context"])
                                              for c in self.chunks]))
        return self._lookup

    @property
    def sentences(self) -> SentenceVectors:
        """The sentence vectors of every chunk (answers quote by them), fetched on first use."""
        if self._sentences is None:
            pos, rows, vecs = self._positions(), [], []
            for p in self._scroll(with_payload=["spans"], with_vectors=["sentences"]):
                if p.id in pos:
                    spans = p.payload["spans"]
                    rows += [(pos[p.id], s, e) for s, e in spans]
                    vecs += (p.vector or {}).get("sentences", [])[:len(spans)] if spans else []
            order = np.lexsort((np.array([r[1] for r in rows]), np.array([r[0] for r in rows]))) if rows else []
            self._sentences = SentenceVectors(np.array(rows, np.int32).reshape(-1, 3)[order],
                                              np.array(vecs, np.float16).reshape(-1, self.dim)[order])
        return self._sentences

    def chunk_vectors(self, positions) -> np.ndarray:
        """The stored vectors of these chunks."""
        got = _call(self.settings, client(self.settings).retrieve, self.name,
                    [self.ids[i] for i in positions], with_vectors=["dense"])
        by_id = {p.id: p.vector["dense"] for p in got}
        return np.array([by_id[self.ids[i]] for i in positions], np.float32).reshape(-1, self.dim)

    def vectors(self) -> np.ndarray:
        """Every chunk's vector, in chunk order (rebuilds reuse them)."""
        pos = self._positions()
        out = np.zeros((len(self.chunks), self.dim), np.float32)
        for p in self._scroll(with_payload=False, with_vectors=["dense"]):
            if p.id in pos:
                out[pos[p.id]] = p.vector["dense"]
        return out

    def search(self, query: str, qvec: np.ndarray | None, mode: str, depth: int, k: int,
               doc: str | None, lo: int, hi: int, s: Settings) -> list[tuple[int, float]]:
        """The k best (chunk position, score), scored by Qdrant in one request.

        The candidates are the passages closest to the question and those holding the
        sentences closest to it (two prefetches); Qdrant scores each of them by its vector and
        by its best sentence, and finds the BM25 list. Fusion "weighted" combines these as the
        FAISS store does (min-max scaled, so both stores rank alike); "rrf" fuses inside Qdrant.
        `s`: the reader's settings (mode weights, fusion).
        """
        from qdrant_client import models

        from index.fusion import RRF_K, top, weighted, with_best_sentence

        flt = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc))]) if doc else None
        terms = query_vector(query)
        bm25 = models.SparseVector(indices=list(terms), values=list(terms.values()))
        if mode == "bm25" or qvec is None:
            if not terms:
                return []
            found = self._query([models.QueryRequest(query=bm25, using="bm25", limit=k, filter=flt)])[0]
            return top(found, k)
        q = qvec.tolist()
        # Passages come in by their best sentence only if they have quotable ones (as in FAISS).
        quotable = models.Filter(must=[models.FieldCondition(key="quotable", match=models.MatchValue(value=True)),
                                       *(flt.must if flt else [])])
        near = [models.Prefetch(query=q, using="dense", limit=depth, filter=flt),
                models.Prefetch(query=[q], using="sentences", limit=depth, filter=quotable)]
        w = s.sentence_weight

        def feedback(fused: dict[int, float]) -> models.SparseVector:
            """The BM25 query with the feedback words of the first passages (as Sparse.with_feedback)."""
            texts = [self.chunks[i].text for i, _ in top(fused, FEEDBACK_PASSAGES)]
            vec = query_vector(query, self.sparse.feedback_words(query, texts, s.feedback_terms), FEEDBACK_WEIGHT)
            return models.SparseVector(indices=list(vec), values=list(vec.values()))

        if mode == "hybrid" and s.fusion == "rrf" and terms:  # fused inside Qdrant
            dense = models.Prefetch(prefetch=[models.Prefetch(prefetch=near, query=q, using="dense", limit=2 * depth),
                                              models.Prefetch(prefetch=near, query=[q], using="sentences", limit=2 * depth)],
                                    query=models.FormulaQuery(formula=models.SumExpression(sum=[
                                        models.MultExpression(mult=[1 - w, "$score[0]"]),
                                        models.MultExpression(mult=[w, "$score[1]"])])), limit=depth)

            def fused(sparse: models.SparseVector) -> dict[int, float]:
                # Qdrant's RRF adds 1 / (k - 1 + rank): k = 61 is the default store's 1 / (60 + rank).
                return self._query([models.QueryRequest(
                    prefetch=[dense, models.Prefetch(query=sparse, using="bm25", limit=depth, filter=flt)],
                    query=models.RrfQuery(rrf=models.Rrf(k=RRF_K + 1)), limit=2 * depth)])[0]
            scores = fused(bm25)
            if s.feedback_terms:
                scores = fused(feedback(scores))
            return top(scores, k)  # ties broken by position, as in the default store
        requests = [models.QueryRequest(prefetch=near, query=q, using="dense", limit=2 * depth),
                    models.QueryRequest(prefetch=near, query=[q], using="sentences", limit=2 * depth)]
        if mode == "hybrid" and terms:
            requests.append(models.QueryRequest(query=bm25, using="bm25", limit=depth, filter=flt))
        cosine, best, *sparse = self._query(requests)
        dense = with_best_sentence(cosine, best, w)
        if mode == "dense" or not sparse:
            return top(dense, k)
        scores = weighted(dense, sparse[0], s.alpha)
        if s.feedback_terms and sparse[0]:
            request = models.QueryRequest(query=feedback(scores), using="bm25", limit=depth, filter=flt)
            scores = weighted(dense, self._query([request])[0], s.alpha)
        return top(scores, k)

    def _query(self, requests) -> list[dict[int, float]]:
        """Run query requests in one round trip: {chunk position: score} for each."""
        answers = _call(self.settings, client(self.settings).query_batch_points, self.name, requests)
        pos = self._positions()
        return [{pos[p.id]: float(p.score) for p in a.points} for a in answers]

    def _positions(self) -> dict[str, int]:
        """Point id -> chunk position."""
        return self._pos


def chunk_point_id(c: Chunk) -> str:
    """Stable across rebuilds: the same chunk of the same document keeps its point id."""
    return str(uuid.uuid5(NAMESPACE, f"chunk|{c.chunk_id}|{c.hash}"))


def write_collection(settings: Settings, manifest: Manifest, chunks: list[Chunk], blocks: dict[str, list[Block]],
                     vectors: np.ndarray, sparse_texts: list[str],
                     sentences: tuple[np.ndarray, np.ndarray]) -> str:
    """Write a new collection, then point the alias at it in one call; returns its name."""
    from dataclasses import asdict, replace

    from qdrant_client import models

    c = client(settings)
    name = f"{settings.qdrant_collection}_{new_id(_collections(settings))}"
    dim = manifest.dim
    _call(settings, c.create_collection, name, vectors_config={
        "dense": models.VectorParams(size=dim, distance=models.Distance.COSINE),
        "sentences": models.VectorParams(size=dim, distance=models.Distance.COSINE, multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM))},
        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    if settings.qdrant_url:  # a server filters through payload indexes (embedded mode has none)
        _call(settings, c.create_payload_index, name, "doc_id", models.PayloadSchemaType.KEYWORD)
        _call(settings, c.create_payload_index, name, "quotable", models.PayloadSchemaType.BOOL)
    rows, svecs = sentences
    starts = np.searchsorted(rows[:, 0], np.arange(len(chunks) + 1)) if len(rows) else np.zeros(len(chunks) + 1, int)
    weights = bm25_vectors(tokenize(sparse_texts))
    batch = []
    for i, ch in enumerate(chunks):
        lo, hi = starts[i], starts[i + 1]
        vector = {"dense": np.asarray(vectors[i], np.float32).tolist()}
        if weights[i]:
            vector["bm25"] = models.SparseVector(indices=list(weights[i]), values=list(weights[i].values()))
        # A chunk without quotable sentences counts its own vector as its best sentence (as the
        # FAISS store does); its payload lists no spans, so no answer quotes it.
        vector["sentences"] = np.asarray(svecs[lo:hi] if hi > lo else vectors[i:i + 1], np.float32).tolist()
        payload = {"type": "chunk", "position": i, "spans": rows[lo:hi, 1:].tolist(), "quotable": bool(hi > lo),
                   **asdict(ch)}
        batch.append(models.PointStruct(id=chunk_point_id(ch), vector=vector, payload=payload))
        if len(batch) == BATCH:
            _call(settings, c.upsert, name, batch, wait=True)
            batch = []
    for doc_id, bs in blocks.items():
        for n, b in enumerate(bs):
            batch.append(models.PointStruct(id=str(uuid.uuid5(NAMESPACE, f"page|{doc_id}|{n}")), vector={},
                                            payload={"type": "page", "doc_id": doc_id, "n": n, **asdict(b)}))
            if len(batch) == BATCH:
                _call(settings, c.upsert, name, batch, wait=True)
                batch = []
    if batch:
        _call(settings, c.upsert, name, batch, wait=True)
    full = replace(manifest, format=FORMAT_VERSION, chunks=len(chunks), store="qdrant",
                   alias=settings.qdrant_collection).to_dict()
    _call(settings, c.upsert, name, [models.PointStruct(id=MANIFEST_ID, vector={}, payload={
        "type": "manifest", "manifest": full})], wait=True)  # last: a collection without it is incomplete
    ops = [models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=name,
                                                                       alias_name=settings.qdrant_collection))]
    try:
        live_collection(settings)
        ops.insert(0, models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=settings.qdrant_collection)))
    except IndexNotFoundError:
        pass
    _call(settings, c.update_collection_aliases, change_aliases_operations=ops)  # the atomic switch
    return name


def prune(settings: Settings, keep: int = 2) -> None:
    """Drop collections a killed build left (newer than the live one) and all but `keep` - 1
    older ones, except those a reader in this process holds. A reader in another process
    whose collection was dropped gets an error saying so; `open_index` (the chat) reloads."""
    try:
        live = live_collection(settings)
    except IndexNotFoundError:
        return
    names = _collections(settings)
    older = [n for n in names if order(n) < order(live)]
    held = {g.name for g in list(_held)}
    for n in [n for n in names if order(n) > order(live)] + older[: max(0, len(older) - (keep - 1))]:
        if n not in held:
            _call(settings, client(settings).delete_collection, n)


def describe(settings: Settings) -> list[dict]:  # {name, manifest: Manifest | None, problem}
    """Each collection of this alias, newest first: its manifest and whether it is complete
    (manifest present, as many points as it says), for `hpsr status`."""
    c = client(settings)
    out = []
    for name in reversed(_collections(settings)):
        got = _call(settings, c.retrieve, name, [MANIFEST_ID], with_payload=True)
        try:
            manifest = Manifest.from_dict(got[0].payload["manifest"]) if got else None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            out.append({"name": name, "manifest": None, "problem": f"manifest unreadable ({e!r})"})
            continue
        points = _call(settings, c.count, name, exact=True).count
        expected = manifest.chunks + manifest.pages + 1 if manifest else 0
        problem = None if not got else (None if points == expected else f"{points} points, expected {expected}")
        out.append({"name": name, "manifest": manifest,
                    "problem": "incomplete (no manifest): a build was stopped" if not got else problem})
    return out
