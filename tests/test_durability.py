"""A durable, movable index: damaged files, readers across rebuilds, a moved checkout, uploads
kept out of corpus/, and settings read in one place."""
from __future__ import annotations

import gc
import json
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

import index
from chatbot.cli import main
from conftest import REPO, write_small_corpus
from hostile import record
from index.settings import Settings, variables
from index.store import MANIFEST, READERS, current_generation, remove_stale

PANGOLIN = """# Pangolin Outreach Programme

The pangolin outreach programme trained 57 rangers in the Limpopo valley in 2019.
"""


def _build(docs: Path, index_dir: Path, **kw) -> index.BuildReport:
    return index.build_index([docs], index_dir=index_dir, progress=False, **kw)


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory) -> tuple[Path, str, str]:
    """An index whose live generation added the pangolin document to the previous one."""
    root = tmp_path_factory.mktemp("two-gens")
    docs = write_small_corpus(root / "docs")
    _build(docs, root / "index")
    old = current_generation(root / "index").name
    (docs / "pangolin.md").write_text(PANGOLIN, encoding="utf-8")
    _build(docs, root / "index")
    return root / "index", old, current_generation(root / "index").name


def _damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    if how == "truncated":
        with open(path, "r+b") as f:
            f.truncate(size // 2)
    elif how == "empty":
        path.write_bytes(b"")
    else:  # zeroed: the size is right, the bytes were never written
        path.write_bytes(b"\0" * size)


def test_a_damaged_file_of_the_live_generation_falls_back_to_the_previous_one(two_generations, tmp_path, capsys):
    """Lost writes, simulated on every file of a fresh generation in turn: the index loads the
    previous generation every time, never crashes, and never answers from the damaged one."""
    src, old, new = two_generations
    files = sorted(str(f.relative_to(src / new)) for f in (src / new).rglob("*")
                   if f.is_file() and f.name != READERS)
    assert len(files) >= 10 and MANIFEST in files and "bm25/params.index.json" in files, files
    for rel in files:
        for how in ("truncated", "empty", "zeroed"):
            copy = tmp_path / f"{rel.replace('/', '_')}-{how}"
            shutil.copytree(src, copy)
            _damage(copy / new / rel, how)
            idx = index.Index.load(copy)
            assert idx.generation.path.name == old, (rel, how)
            assert idx.generation.problem and new in idx.generation.problem, (rel, how)
            hits = idx.search("How many rangers did the pangolin programme train?", k=3, mode="hybrid")
            assert hits and all(h.doc_id != "pangolin" for h in hits), (rel, how)
            assert idx.passage(hits[0]) and idx.generation.sentences.vectors is not None
            shutil.rmtree(copy)
    assert "answering from the previous generation" in capsys.readouterr().err
    record("damaged_generation", files=len(files), cases=3 * len(files), fell_back=3 * len(files))


def test_the_next_build_repairs_a_damaged_generation_and_status_tells(two_generations, tmp_path, capsys):
    src, old, new = two_generations
    copy = tmp_path / "index"
    shutil.copytree(src, copy)
    _damage(copy / new / "bm25" / "data.csc.index.npy", "zeroed")
    assert main(["--index", str(copy), "status"]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"live:\s+{new}.*FAILED verification: .*data.csc.index.npy", out), out
    assert f"serving:   {old}" in out, out

    report = index.build_index(None, index_dir=copy, progress=False)
    assert report.swapped and any(n.startswith("repaired:") for n in report.notes), report.summary()
    assert report.embedded == 1, report.summary()  # only what the damaged generation alone held
    idx = index.Index.load(copy)
    assert idx.generation.problem is None and idx.generation.path.name not in (old, new)
    assert not (copy / new).exists()  # the damaged generation is gone, never a fallback again
    assert idx.search("How many rangers did the pangolin programme train?", k=1)[0].doc_id == "pangolin"
    assert main(["--index", str(copy), "status", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["serving"] == info["live"] and info["generations"][0]["verified"]
    assert info["generations"][0]["documents"] == 4 and info["generations"][0]["chunks"] > 0


def test_a_reader_keeps_answering_across_three_rebuilds(tmp_path):
    """An Index held across rebuilds (which keep two generations) still loads its BM25, blocks
    and sentence vectors lazily; a reader searching meanwhile sees no error."""
    docs = write_small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    _build(docs, index_dir)
    held = index.Index.load(index_dir)  # nothing lazy loaded yet
    errors: list[Exception] = []
    searches = [0]
    stop = threading.Event()

    def keep_searching() -> None:
        reader = index.Index.load(index_dir)
        while not stop.is_set():
            try:
                assert reader.search("Where is the okapi found?", k=3, mode="hybrid")
                assert index.search("Where is the okapi found?", k=3, index_dir=index_dir)
                searches[0] += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                errors.append(e)

    thread = threading.Thread(target=keep_searching)
    thread.start()
    try:
        for n in range(3):
            (docs / f"extra-{n}.md").write_text(f"# Extra {n}\n\nThe note number {n} about aardvarks.\n")
            assert _build(docs, index_dir).swapped
    finally:
        stop.set()
        thread.join()
    assert errors == [] and searches[0] > 0, errors[:3]
    record("reader_across_rebuilds", rebuilds=3, searches=searches[0], errors=len(errors))
    hits = held.search("Okapi Wildlife Reserve square kilometres", k=3, mode="hybrid")  # BM25 loads now
    assert hits[0].doc_id == "okapi-guide" and held.passage(hits[0])
    assert all(h.doc_id.startswith("extra") is False for h in hits)
    assert len(list(index_dir.glob("gen-*"))) > 2  # the held generation was not pruned

    path = held.generation.path
    del held
    gc.collect()
    _build(docs, index_dir, full=True)
    assert not path.exists() and len(list(index_dir.glob("gen-*"))) == 2  # released, then pruned


def test_moving_the_checkout_reembeds_nothing_and_keeps_every_id(tmp_path):
    """Build, move the whole folder (index, corpus and library), build again; then move a file
    within its source folder."""
    def settings(root: Path) -> Settings:
        return Settings.load(index_dir=root / ".hpsr" / "index", corpus_dir=root / "corpus",
                             library_dir=root / ".hpsr" / "library")

    a = tmp_path / "a"
    write_small_corpus(a / "corpus")
    (a / ".hpsr" / "library").mkdir(parents=True)
    (a / ".hpsr" / "library" / "pangolin.md").write_text(PANGOLIN, encoding="utf-8")
    first = index.build_index(None, settings=settings(a), progress=False)
    assert len(first.added) == 4, first.summary()
    before = index.Index.load(settings=settings(a))
    ids = (before.documents, [c.chunk_id for c in before.chunks])

    b = tmp_path / "elsewhere" / "b"
    b.parent.mkdir()
    shutil.move(a, b)
    report = index.build_index(None, settings=settings(b), progress=False)
    assert report.embedded == 0 and not (report.added or report.changed or report.removed), report.summary()
    record("moved_checkout", documents=len(ids[0]), chunks=len(ids[1]), embedded_after_move=report.embedded)
    after = index.Index.load(settings=settings(b))
    assert (after.documents, [c.chunk_id for c in after.chunks]) == ids
    hit = after.search("pangolin rangers", k=1)[0]
    assert Path(hit.source) == b / ".hpsr" / "library" / "pangolin.md"

    (b / "corpus" / "guides").mkdir()
    shutil.move(b / "corpus" / "okapi-guide.md", b / "corpus" / "guides" / "okapi-field-notes.md")
    report = index.build_index(None, settings=settings(b), progress=False)
    assert report.embedded == 0 and not (report.added or report.removed), report.summary()
    assert report.moved == [("corpus:okapi-guide.md", "corpus:guides/okapi-field-notes.md")]
    moved = index.Index.load(settings=settings(b))
    assert moved.documents == ids[0]
    hit = moved.search("okapi", k=1, doc="okapi-guide")[0]
    assert Path(hit.source) == b / "corpus" / "guides" / "okapi-field-notes.md"


def test_a_moved_checkout_with_default_settings_reembeds_nothing(tmp_path):
    """The real thing: a copy of the checkout (code, corpus, a folder of notes) indexed by `hpsr
    ingest` with no settings at all, moved and renamed, then indexed again."""
    import os
    import subprocess
    import sys

    a = tmp_path / "checkout"
    for folder in ("index", "ingest", "chatbot"):
        shutil.copytree(REPO / folder, a / folder, ignore=shutil.ignore_patterns("__pycache__", "static"))
    write_small_corpus(a / "corpus")
    (a / "notes").mkdir()
    (a / "notes" / "pangolin.md").write_text(PANGOLIN, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "HPSR_LIBRARY"}  # HPSR_CACHE: the tests' export

    def hpsr(root: Path, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "chatbot.cli", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    assert "4 added" in hpsr(a, "ingest", "--quiet", "corpus", "notes")
    docs = hpsr(a, "docs")
    b = tmp_path / "moved" / "renamed-checkout"
    b.parent.mkdir()
    shutil.move(a, b)
    summary = hpsr(b, "ingest", "--quiet")  # no paths: the folders indexed last time, where they are now
    assert "4 unchanged, 0 moved, 0 removed" in summary and "(0 embedded)" in summary, summary
    assert hpsr(b, "docs") == docs
    assert str(b / "notes" / "pangolin.md") in hpsr(b, "search", "pangolin rangers", "-k", "1", "--json")


def test_uploads_go_to_the_library_and_are_indexed_with_the_corpus(small_index, tmp_path):
    from chatbot.app import ChatApp

    shutil.copytree(small_index, tmp_path / "index")
    settings = Settings.load(index_dir=tmp_path / "index", library_dir=tmp_path / "library")
    upload = tmp_path / "pangolin programme.md"
    upload.write_text(PANGOLIN, encoding="utf-8")
    before = sorted(p.name for p in (REPO / "corpus").iterdir())
    status, _, _ = ChatApp(settings).add_documents([str(upload)])
    assert "1 added" in status, status
    assert (tmp_path / "library" / "pangolin_programme.md").is_file()
    assert sorted(p.name for p in (REPO / "corpus").iterdir()) == before
    docs = index.Index.load(settings=settings).documents
    assert "pangolin-programme" in docs and "okapi-guide" in docs  # with what was indexed before


# --- settings ----------------------------------------------------------------------------------

def test_a_bad_value_names_its_variable_and_help_still_works(monkeypatch, small_index, capsys):
    monkeypatch.setenv("HPSR_PORT", "abc")
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert main(["--index", str(small_index), "docs"]) == 2
    assert "HPSR_PORT must be an integer, got 'abc'" in capsys.readouterr().err
    for var, value in [("HPSR_ALPHA", "half"), ("HPSR_QUERY_CACHE", "lots"), ("HPSR_PORT", "99999"),
                       ("HPSR_INDEX", " "), ("HPSR_MODE", "fuzzy")]:
        monkeypatch.setenv("HPSR_PORT", "7860")
        monkeypatch.setenv(var, value)
        with pytest.raises(index.ConfigError, match=var):
            Settings.load()
        monkeypatch.delenv(var)


def test_an_unknown_variable_is_warned_about_with_the_closest_name(monkeypatch, capsys):
    import index.settings

    monkeypatch.setattr(index.settings, "_warned", set())
    monkeypatch.setenv("HPSR_ALHPA", "0.3")
    monkeypatch.setenv("HPSR_ZZZ_NOTHING", "1")
    Settings.load()
    Settings.load()  # once per process, not per call
    err = capsys.readouterr().err
    assert err.count("unknown variable HPSR_ALHPA is ignored; did you mean HPSR_ALPHA?") == 1, err
    assert "unknown variable HPSR_ZZZ_NOTHING is ignored; known: HPSR_INDEX" in err, err


def test_only_the_settings_module_reads_hpsr_variables():
    reads = re.compile(r"""environ(\.get\(|\[)\s*["']HPSR_|getenv\(\s*["']HPSR_""")
    offenders = [str(f.relative_to(REPO)) for folder in ("index", "ingest", "chatbot", "bench")
                 for f in (REPO / folder).rglob("*.py")
                 if f.name != "settings.py" and reads.search(f.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_tests_run_isolated_from_the_users_settings_and_cache():
    import os

    from index.embedder import cache_dir

    set_here = {"HPSR_CACHE", "HPSR_LIBRARY"}
    assert [v for v in variables() if v in os.environ and v not in set_here] == []
    assert cache_dir(Settings.load().cache_dir) == REPO / ".hpsr" / "test-cache"
    assert not Settings.load().library_dir.is_relative_to(REPO)


class _Clock:
    """A wall clock the test sets (time.time, time_ns, localtime, gmtime and strftime all read it)."""

    def __init__(self, now: float):
        self.now = now
        self._localtime, self._gmtime, self._strftime = time.localtime, time.gmtime, time.strftime

    def time(self) -> float:
        return self.now

    def time_ns(self) -> int:
        return int(self.now * 1e9)

    def localtime(self, secs=None):
        return self._localtime(self.now if secs is None else secs)

    def gmtime(self, secs=None):
        return self._gmtime(self.now if secs is None else secs)

    def strftime(self, fmt, t=None):  # time.strftime(fmt) reads the clock in C: give it ours
        return self._strftime(fmt, self.localtime() if t is None else t)


def test_a_clock_set_back_does_not_put_a_new_generation_before_the_last(tmp_path, monkeypatch):
    """At a daylight-saving fall-back the local time repeats an hour: a generation made after it
    was named (by local time) before the one made just before it, and the fallback was lost."""
    docs = write_small_corpus(tmp_path / "docs")
    monkeypatch.setenv("TZ", "Europe/Lisbon")
    time.tzset()
    try:
        clock = _Clock(1761440400.0)  # 2025-10-26 01:00 UTC, 01:00 local, just after the fall-back
        clock.now -= 30 * 60  # 00:30 UTC = 01:30 local (summer time), before it
        for name in ("time", "time_ns", "localtime", "gmtime", "strftime"):
            monkeypatch.setattr(time, name, getattr(clock, name))
        names = []
        for moved in (0, 40 * 60, 10 * 60):  # 01:30 summer time, then 01:10 and 01:20 winter time
            clock.now += moved
            (docs / "extra.md").write_text(f"# Extra\n\nThe build made at {clock.now} added this line.\n")
            _build(docs, tmp_path / "index")
            names.append(current_generation(tmp_path / "index").name)
            gc.collect()  # no reader holds a generation now: what a later prune would remove, it removes
            remove_stale(tmp_path / "index")
            kept = {p.name for p in (tmp_path / "index").glob("gen-*")}
            # the live generation and the one before it (the fallback), nothing older
            assert kept == set(names[-2:]), (names, kept)
        assert len(set(names)) == 3
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_generation_ids_order_by_sequence_and_after_older_names():
    from index.generations import is_named, new_id, order

    old = ["20261206T101010123456789-0123abcd", "20261206T111010123456789-4567abcd"]  # before sequence numbers
    first = new_id(old, now=1761438600.0)
    second = new_id(old + [first], now=1761438600.0 - 3600)  # the clock set back an hour
    assert sorted(old + [second, first], key=order) == old + [first, second]
    assert order(new_id([f"x-{'9' * 9}-20251026T003000Z-0123abcd"]))[0] == 10 ** 9  # past eight digits
    assert is_named(f"hpsr_{first}", "hpsr_") and not is_named(f"hpsr_dev_{first}", "hpsr_")
    assert is_named("hpsr_20261206T101010123456789_0123abcd", "hpsr_")  # a collection named before
