"""Build or update the index incrementally: only new or changed files are read and embedded."""
from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from index.embedder import LateJobs, embedder_for, token_counter
from index.texts import embedding_text, row_sentences
from index.manifest import FileEntry, Manifest
from index.model import dimension
from index.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from index.sentences import chunk_spans
from index.settings import Settings
from index.paths import is_under, key_of, path_of, roots
from index.stores import store_for
from ingest import Block, Chunk, Document, IngestError, chunk_document, discover, load_document
from ingest.loaders import doc_id_for, file_sha256

# progress(stage, done, total): stage is "files" or "chunks"; used by the chat's upload box.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    index_dir: Path
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old key, new key): same content, same id
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, warning)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    pages: int = 0
    chunks: int = 0
    embedded: int = 0  # chunks whose vectors were computed in this build
    seconds: float = 0.0
    swapped: bool = False  # a new generation was made live

    def summary(self, paths: bool = True) -> str:
        """A few lines for people: counts, then every skip with its reason. `paths=False` (for a
        client of the chat) names files by their names and leaves out where the index is."""
        def name(p: str) -> str:
            return p if paths else Path(p).name

        rate = f", {self.embedded / self.seconds:.0f} chunks/s" if self.embedded and self.seconds else ""
        lines = [
            f"files: {len(self.added)} added, {len(self.changed)} changed, {len(self.unchanged)} unchanged, "
            f"{len(self.moved)} moved, {len(self.removed)} removed, {len(self.skipped)} skipped",
            f"index: {self.files} files, {self.pages} pages/sections, {self.chunks} chunks "
            f"({self.embedded} embedded) in {self.seconds:.1f} s{rate}",
        ]
        if paths or not self.swapped:
            lines.append((f"location: {self.index_dir}" if paths else "the index")
                         + ("" if self.swapped else " (unchanged, nothing to do)"))
        lines += [f"note: {n if paths else n.replace(str(self.index_dir), 'the index')}" for n in self.notes]
        lines += [f"skipped {name(p)}: {r}" for p, r in self.skipped]
        lines += [f"warning {name(p)}: {w}" for p, w in self.warnings]
        return "\n".join(lines)


def build_index(paths: list[str | Path] | None = None, index_dir: str | Path | None = None,
                settings: Settings | None = None, progress: bool | ProgressFn = True,
                full: bool = False, exclude: list[str | Path] = ()) -> BuildReport:
    """(Re)build the index from `paths` (files or folders; default: the folders indexed last
    time, else settings.corpus_dir; with settings.library_dir whenever it exists).

    Unchanged files keep their chunks and vectors, and so does a file moved or renamed with
    its content unchanged (its id too); identical chunk text is never embedded twice;
    `full=True` re-reads every file. The new index is swapped in atomically, so a failure at
    any point leaves the previous index as it was. `exclude`: keys of files (index.paths) to
    leave out from now on (`hpsr remove`), even though their folder is indexed; naming such a
    file in `paths` takes it back.

    The phases: plan (which files to keep, move or read), read (and start embedding), settle
    (keep what missing sources held), assemble (the new generation's chunks, in order), embed,
    then publish.
    """
    t0 = time.perf_counter()
    settings = settings or Settings.load()
    index_dir = Path(index_dir) if index_dir else settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport(index_dir=index_dir)
    with _locked(index_dir), ExitStack() as stack:
        store = store_for(index_dir, settings)
        store.prune()  # what a killed build left
        old = _previous(index_dir, settings, report)
        plan = _plan(paths, old, settings, full, exclude, report)
        bar = _bar(progress, "files", len(plan.files), "file")
        plan = _classify(plan, old, full, report, bar)
        late = LateJobs(embedder_for(settings), settings.ingest_threads) if (
            settings.sentence_vectors == "late") else None
        stack.callback(lambda: late and late.close(cancel=True))
        started = _read(plan, old, settings, report, bar, late)
        bar.close()
        _settle(plan, old, report)
        if _nothing_to_do(plan, old, settings, full, report):
            report.chunks = len(old.chunks)
            report.seconds = time.perf_counter() - t0
            return report
        chunks, blocks, vectors, old_keys = _assemble(plan, old, settings)
        report.embedded, sentences = _embed(chunks, blocks, vectors, old, old_keys, settings, progress,
                                            late, started)
        matrix = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dimension()), np.float32)
        identity = settings.identity()
        manifest = Manifest(model=identity["model"], chunker=identity["chunker"], files=plan.entries,
                            sources=tuple(key_of(p, plan.roots) for p in plan.sources),
                            excluded=tuple(sorted(plan.excluded)), built=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        store.publish(manifest, chunks, blocks, matrix, [embedding_text(c, settings.context) for c in chunks],
                      settings.vector_kind(len(chunks)), sentences)
        if plan.repair:
            store.discard(old.damaged)  # never a fallback again
        store.prune()
        report.swapped = True
        report.chunks = len(chunks)
        report.seconds = time.perf_counter() - t0
    return report


@dataclass
class _Job:
    """A file to read: where it is, its key and id, what was indexed of it before, and its stat."""
    path: Path
    key: str
    doc_id: str
    entry: FileEntry | None
    stat: os.stat_result
    sha: str


@dataclass
class _Plan:
    """What one build works from and fills in, phase by phase."""
    roots: dict
    sources: list[Path]
    files: list[Path]
    excluded: set[str]
    old_files: dict[str, FileEntry]
    old_chunks: dict[str, list[int]]  # key -> positions in the old generation
    entries: dict[str, FileEntry] = field(default_factory=dict)  # the new manifest's files, in order
    jobs: list[_Job] = field(default_factory=list)
    new_chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    new_blocks: dict[str, list[Block]] = field(default_factory=dict)
    repair: bool = False  # the live generation is damaged: this build replaces it


def _plan(paths, old, settings: Settings, full: bool, exclude, report: BuildReport) -> _Plan:
    """The files to index (found under the sources, less the excluded), and what the old
    generation holds of each."""
    rts = roots(settings)
    sources = [Path(p) for p in paths] if paths else _sources(old, settings, rts)
    files, skipped = discover(sources)
    report.skipped += skipped
    named = {key_of(p, rts) for p in paths or () if Path(p).is_file()}  # given now, by name
    excluded = (set(old.manifest.excluded) if old else set()) - named
    excluded |= set(exclude)
    files = [f for f in files if key_of(f, rts) not in excluded]
    old_chunks: dict[str, list[int]] = {}
    for pos, c in enumerate(old.chunks if old else []):
        old_chunks.setdefault(c.source, []).append(pos)
    return _Plan(rts, sources, files, excluded, dict(old.manifest.files) if old else {}, old_chunks,
                 repair=old is not None and old.problem is not None)


def _classify(plan: _Plan, old, full: bool, report: BuildReport, bar) -> _Plan:
    """Each file: unchanged (its entry kept), moved (an indexed file gone from where it was, with
    the same content: it keeps its id, chunks and vectors), or to read."""
    present = {key_of(f, plan.roots) for f in plan.files}
    gone = {e.sha256: k for k, e in plan.old_files.items() if k not in present and k in plan.old_chunks}
    used_ids = {e.doc_id for e in plan.old_files.values()}
    for f in plan.files:
        try:  # the file may vanish or turn into a symlink loop while the build runs
            f.resolve(strict=True)
            key = key_of(f, plan.roots)
            entry = plan.old_files.get(key)
            st = f.stat()
            same_stat = entry and (entry.size, entry.mtime_ns) == (st.st_size, st.st_mtime_ns)
            sha = entry.sha256 if same_stat else file_sha256(f)
        except (OSError, RuntimeError) as e:  # RuntimeError: symlink loop (Python 3.11)
            report.skipped.append((str(f), f"cannot read file ({getattr(e, 'strerror', None) or e})"))
            bar.step()
            continue
        if not entry and not full and sha in gone:  # moved: reuse what was indexed under the old key
            moved_from = gone.pop(sha)
            plan.entries[key] = replace(plan.old_files[moved_from], size=st.st_size, mtime_ns=st.st_mtime_ns)
            plan.old_chunks[key] = plan.old_chunks[moved_from]
            report.moved.append((moved_from, key))
            bar.step()
        elif entry and not full and entry.sha256 == sha and key in plan.old_chunks:
            plan.entries[key] = replace(entry, size=st.st_size, mtime_ns=st.st_mtime_ns)
            report.unchanged.append(str(f))
            bar.step()
        else:
            doc_id = entry.doc_id if entry else _unique_id(key, used_ids)
            used_ids.add(doc_id)
            plan.jobs.append(_Job(f, key, doc_id, entry, st, sha))
    return plan


def _read(plan: _Plan, old, settings: Settings, report: BuildReport, bar, late: LateJobs | None) -> dict:
    """Read the files to read. Reading and embedding overlap: a file's new chunks go to the
    model as soon as it is read, while the next files are read (late sentence vectors);
    returns those started, by (text, spans), for _embed to collect."""
    started: dict[tuple[str, tuple], object] = {}
    known = {_embed_key(c, settings.context) for c in old.chunks} if old else set()

    def start(result) -> None:
        if late is None or isinstance(result, str):
            return
        doc, read = result
        for c in read:
            spans = chunk_spans(c, doc.blocks[c.block] if c.block >= 0 else None)
            text = embedding_text(c, settings.context)
            if (text, spans) not in started and _text_key(text) not in known:
                started[(text, spans)] = late.submit(*_late_input(c, spans, settings.context))

    parsed = _read_files([(j.path, j.doc_id, j.stat.st_size) for j in plan.jobs], settings, bar.step, start)
    for job, result in zip(plan.jobs, parsed):
        if isinstance(result, str):  # the reason the file could not be read
            if job.entry and job.key in plan.old_chunks:
                plan.entries[job.key] = job.entry  # keep the version that was indexed before
                report.skipped.append((str(job.path), f"{result}; kept the previously indexed version"))
            else:
                report.skipped.append((str(job.path), result))
            continue
        doc, chunks = result
        report.warnings += [(str(job.path), w) for w in doc.warnings]
        plan.new_chunks[job.key] = [_with_source(c, job.key) for c in chunks]
        plan.new_blocks[job.key] = list(doc.blocks)
        plan.entries[job.key] = FileEntry(job.sha, job.stat.st_size, job.stat.st_mtime_ns, doc.doc_id, doc.title,
                                          len(chunks), len(doc.blocks))
        (report.changed if job.entry else report.added).append(str(job.path))
    return started


def _settle(plan: _Plan, old, report: BuildReport) -> None:
    """A source folder or file that is missing now (unmounted disk, typo, moved) keeps what was
    indexed from it: a missing path never empties the index. If no path given exists at all
    (`hpsr ingest ~/papres`), nothing is removed. Then: what was removed, and the counts."""
    missing = [key_of(p, plan.roots) for p in plan.sources if not p.exists()]
    none_exist = len(missing) == len(plan.sources)
    if none_exist and plan.old_files:
        report.notes.append("none of the paths given exists; the index was left as it was")
    moved_from = {old_key for old_key, _ in report.moved}
    for k, entry in plan.old_files.items():
        if k not in plan.entries and k not in moved_from and k in plan.old_chunks and (
                none_exist or any(is_under(k, m) for m in missing)):
            plan.entries[k] = entry
            report.unchanged.append(k)
            if not none_exist:
                report.notes.append(f"{k}: its source path is missing; kept the indexed version")
    report.removed = [k for k in plan.old_files if k not in plan.entries and k not in moved_from]
    report.files = len(plan.entries)
    report.pages = sum(e.blocks for e in plan.entries.values())


def _nothing_to_do(plan: _Plan, old, settings: Settings, full: bool, report: BuildReport) -> bool:
    """Whether the live generation already is what this build would make."""
    same_kind = old is not None and old.manifest.vector_index == settings.vector_kind(len(old.chunks))
    same_exclusions = sorted(plan.excluded) == sorted(old.manifest.excluded) if old else not plan.excluded
    return same_kind and same_exclusions and not (report.added or report.changed or report.removed
                                                  or report.moved or full or plan.repair)


def _assemble(plan: _Plan, old, settings: Settings):
    """The new generation's chunks, blocks and vectors (None: to embed), document by document
    in discovery order; and the old chunks' embedding keys."""
    old_keys = [_embed_key(c, settings.context) for c in old.chunks] if old else []
    old_vectors = old.vectors() if old is not None and old.chunks else np.zeros((0, 0))
    cache = dict(zip(old_keys, old_vectors))
    chunks: list[Chunk] = []
    blocks: dict[str, list[Block]] = {}
    vectors: list[np.ndarray | None] = []
    for key, entry in plan.entries.items():
        if key in plan.new_chunks:
            blocks[entry.doc_id] = plan.new_blocks[key]
            for c in plan.new_chunks[key]:
                chunks.append(c)
                vectors.append(cache.get(_embed_key(c, settings.context)))
        else:
            blocks[entry.doc_id] = old.blocks.get(entry.doc_id, [])
            for pos in plan.old_chunks[key]:
                c = old.chunks[pos]
                chunks.append(c if c.source == key else _with_source(c, key))  # a moved file
                vectors.append(old_vectors[pos])
    return chunks, blocks, vectors, old_keys


def remove_document(doc_id: str, index_dir: str | Path | None = None, settings: Settings | None = None,
                    progress: bool | ProgressFn = False) -> BuildReport:
    """Take a document out of the index (its file stays where it is), atomically like any
    rebuild; later rebuilds leave it out too. Raises QueryError for an id not in the index."""
    from index.errors import QueryError

    settings = settings or Settings.load()
    index_dir = Path(index_dir) if index_dir else settings.index_dir
    gen = store_for(index_dir, settings).open(expect=settings.identity())
    files = [k for k, e in gen.manifest.files.items() if e.doc_id == doc_id]
    if not files:
        known = sorted({e.doc_id for e in gen.manifest.files.values()})
        raise QueryError(f"no document {doc_id!r} in the index; indexed: {', '.join(known)}")
    return build_index(None, index_dir=index_dir, settings=settings, progress=progress, exclude=files)


def _embed(chunks: list[Chunk], blocks: dict[str, list[Block]], vectors: list[np.ndarray | None], old,
           old_keys: list[str], settings: Settings, progress: bool | ProgressFn, jobs: LateJobs | None,
           started: dict) -> tuple[int, tuple[np.ndarray, np.ndarray]]:
    """Fill in the chunk vectors that are missing (None) and give every chunk its sentence
    vectors (index.sentences), reusing the old generation's for the same text and spans.
    `jobs`: the late-chunking workers (None: sentences embedded on their own), with the
    Futures `started` while reading, by (text, spans). Returns how many distinct texts went
    through the model, and (sentence rows, vectors)."""
    embedder = embedder_for(settings)
    late = jobs is not None
    spans = [chunk_spans(c, blocks[c.doc_id][c.block] if c.block >= 0 else None) for c in chunks]
    keys = [_embed_key(c, settings.context) for c in chunks]
    known: dict[tuple, np.ndarray] = {}
    for i in range(len(old.chunks) if old is not None else 0):
        rows, vecs = old.sentences.of_chunk(i)
        known[(old_keys[i], tuple(map(tuple, rows.tolist())))] = vecs.astype(np.float16)
    sentences = [known.get((keys[i], spans[i])) if vectors[i] is not None else None for i in range(len(chunks))]
    # Text to embed, each distinct text once (boilerplate repeated across documents, copies).
    todo: dict[tuple[str, tuple], list[int]] = {}
    for i, c in enumerate(chunks):
        if vectors[i] is None or (late and sentences[i] is None):
            todo.setdefault((embedding_text(c, settings.context), spans[i]), []).append(i)
    if todo:
        bar = _bar(progress, "chunks", len(todo), "chunk")
        texts = [text for text, _ in todo]
        if late:
            futures = [started.pop(key, None) or jobs.submit(*_late_input(chunks[positions[0]], key[1], settings.context))
                       for key, positions in todo.items()]
            fresh = np.zeros((len(todo), embedder.dim), np.float32)
            pooled = []
            for n, fut in enumerate(futures):
                fresh[n], sentence_vectors = fut.result()
                pooled.append(sentence_vectors)
                bar.step()
        else:
            fresh = embedder.encode(texts, threads=settings.ingest_threads, batch_size=settings.batch_size,
                                    on_batch=bar.step)
        bar.close()
        for n, positions in enumerate(todo.values()):
            for i in positions:
                vectors[i] = fresh[n]
                if late:
                    sentences[i] = pooled[n].astype(np.float16)
    fresh_now = {i for positions in todo.values() for i in positions}
    made = [i for i, v in enumerate(sentences) if v is None or i in fresh_now]
    if not late:  # each sentence embedded as a text of its own, each distinct text once
        missing = [i for i, v in enumerate(sentences) if v is None]
        texts = list(dict.fromkeys(chunks[i].text[s:e] for i in missing for s, e in spans[i]))
        bar = _bar(progress, "sentences", len(texts), "sentence")
        found = dict(zip(texts, embedder.encode(texts, threads=settings.ingest_threads,
                                                batch_size=settings.batch_size, on_batch=bar.step)))
        bar.close()
        for i in missing:
            sentences[i] = np.array([found[chunks[i].text[s:e]] for s, e in spans[i]], np.float16)
    _embed_rows(embedder, chunks, [i for i in made if chunks[i].table is not None], sentences, settings)
    rows = np.array([(i, s, e) for i, sp in enumerate(spans) for s, e in sp], dtype=np.int32).reshape(-1, 3)
    dim = embedder.dim
    matrix = np.concatenate([v.reshape(-1, dim) for v in sentences]) if sentences else np.zeros((0, dim), np.float16)
    return len(todo), (rows, matrix)


def _embed_rows(embedder, chunks: list[Chunk], tables: list[int], sentences: list, settings: Settings) -> None:
    """A table chunk's row vectors, each row embedded as a sentence of its own (row_sentences):
    a row's cells read in the context of the other rows say little the model understands, and
    a question about one cell finds the row that reads like a sentence about it."""
    texts = {i: row_sentences(chunks[i], settings.context) for i in tables}
    distinct = list(dict.fromkeys(t for ts in texts.values() for t in ts))
    if not distinct:
        return
    found = dict(zip(distinct, embedder.encode(distinct, threads=settings.ingest_threads,
                                               batch_size=settings.batch_size)))
    for i, ts in texts.items():
        sentences[i] = np.array([found[t] for t in ts], np.float16).reshape(len(ts), -1)


# Reading PDFs is pure Python (pypdf), a third of a first build: from this many bytes to read,
# files are read by one process per core. Below it, starting the processes costs more.
PARALLEL_READ_BYTES = 2_000_000


def _read_files(jobs: list[tuple[Path, str, int]], settings: Settings, step: Callable[[], None],
                on_read: Callable[[tuple[Document, list[Chunk]] | str], None] = lambda r: None,
                ) -> list[tuple[Document, list[Chunk]] | str]:
    """Load and chunk each (path, doc_id, size): (document, chunks), or the reason it was
    skipped. `on_read` sees each result as soon as it is ready (in this thread)."""
    size = sum(n for _, _, n in jobs)
    workers = min(len(jobs), os.cpu_count() or 1)
    args = [(f, doc_id, settings.chunk_tokens, settings.overlap_tokens, bool(settings.tables)) for f, doc_id, _ in jobs]
    if workers < 2 or size < PARALLEL_READ_BYTES:
        results = []
        for a in args:
            results.append(_read_file(*a))
            on_read(results[-1])
            step()
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # "spawn": the chat re-indexes uploads from a process full of threads, which fork would copy
    # mid-lock; spawned workers start clean.
    results: list = [None] * len(args)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_read_file, *a): i for i, a in enumerate(args)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                on_read(results[futures[fut]])
                step()
    except BrokenProcessPool:
        # A reader process died (out of memory, a crash inside a parser). Retrying here could
        # take down the caller, which may be the chat server: the files not read are skipped.
        for i in range(len(results)):
            if results[i] is None:
                results[i] = "not read: a reader process died (out of memory or a parser crash) on this or another file"
                step()
    return results


def _read_file(path: Path, doc_id: str, chunk_tokens: int, overlap: int,
               tables: bool = True) -> tuple[Document, list[Chunk]] | str:
    try:
        doc = load_document(path, doc_id=doc_id, tables=tables)
        chunks = chunk_document(doc, token_counter(), chunk_tokens, overlap)
    except IngestError as e:
        return e.reason
    except Exception as e:  # a reader's bug on one file must not stop the build: skip it, named
        return f"could not be read ({type(e).__name__}: {str(e)[:200]})"
    return (doc, chunks) if chunks else "no text left after cleaning"


def _late_input(chunk: Chunk, spans: tuple[tuple[int, int], ...], context: bool) -> tuple[str, tuple]:
    """What the model reads for a chunk, and its sentence spans in that text: the chunk's text
    sits at the end, after its context."""
    text = embedding_text(chunk, context)
    at = len(text) - len(chunk.text)
    return text, tuple((at + s, at + e) for s, e in spans)


def _embed_key(chunk: Chunk, context: bool) -> str:
    return _text_key(embedding_text(chunk, context))


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _with_source(c: Chunk, source: str) -> Chunk:
    return replace(c, source=source)


def _unique_id(key: str, used: set[str]) -> str:
    """An id from the file name; a second file of that name gets a suffix from its key, which
    stays the same when the checkout or library moves."""
    base = doc_id_for(Path(key.partition(":")[2] if not key.startswith("/") else key))
    if base not in used:
        return base
    return f"{base}-{hashlib.sha256(key.encode()).hexdigest()[:6]}"


def _sources(old, settings: Settings, rts) -> list[Path]:
    """What a build given no paths indexes: the folders indexed last time (else the corpus),
    and the library folder once it exists."""
    sources = [path_of(k, rts) for k in old.manifest.sources] if old else []
    sources = sources or [settings.corpus_dir]
    library = settings.library_dir
    if library.is_dir() and not any(library.resolve().is_relative_to(s.resolve()) for s in sources):
        sources.append(library)
    return sources


def _previous(index_dir: Path, settings: Settings, report: BuildReport):
    """The live generation if it can be reused (or, when it is damaged, the newest earlier one,
    which this build then replaces); otherwise None, with a note saying why."""
    try:
        gen = store_for(index_dir, settings).open(expect=settings.identity())
    except IndexNotFoundError:
        return None
    except (IndexCorruptError, IndexMismatchError) as e:
        report.notes.append(f"previous index not reused: {e}")
        return None
    if gen.problem:
        report.notes.append(f"repaired: {gen.problem}")
    return gen


@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    """One builder at a time per index directory (a second one waits)."""
    with open(index_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class _Bar:
    """A tqdm bar on stderr, a callback, or nothing, behind one small interface."""

    def __init__(self, progress: bool | ProgressFn, stage: str, total: int, unit: str):
        self.fn = progress if callable(progress) else None
        self.stage, self.total, self.done, self.unit = stage, total, 0, unit
        self.desc = "reading" if stage == "files" else "embedding"
        self.tqdm = None
        # A terminal gets a bar; a file or a pipe gets a line per file (per tenth of the chunks),
        # not a line of carriage returns. Nothing to do draws nothing.
        self.lines = progress is True and total > 0 and not sys.stderr.isatty()
        if progress is True and total > 0 and not self.lines:
            from tqdm import tqdm

            self.tqdm = tqdm(total=total, desc=self.desc, unit=unit, dynamic_ncols=True, leave=True)

    def step(self, n: int = 1) -> None:
        before, self.done = self.done, self.done + n
        if self.tqdm is not None:
            self.tqdm.update(n)
        if self.lines and (self.stage == "files" or self.done == self.total
                           or 10 * self.done // self.total > 10 * before // self.total):
            print(f"{self.desc}: {self.done}/{self.total} {self.unit}s", file=sys.stderr, flush=True)
        if self.fn is not None:
            self.fn(self.stage, self.done, self.total)

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()


def _bar(progress: bool | ProgressFn, stage: str, total: int, unit: str) -> _Bar:
    return _Bar(progress, stage, total, unit)
