"""Hostile files, each alone and mixed among good files: the good ones are indexed, each bad one
is named with its reason, time and memory stay bounded, and the previous index is untouched."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import index
from conftest import REPO
from hostile import hostile_files, record, slow_pages

sys.path.insert(0, str(REPO / "bench"))
from procmem import peak_rss_mb  # noqa: E402

HPSR = Path(sys.executable).parent / "hpsr"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, dict[str, str | None]]:
    folder = tmp_path_factory.mktemp("hostile")
    return folder, hostile_files(folder)


def _fingerprint(gen_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(gen_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(gen_dir.rglob("*")) if p.is_file()}


def _live(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


NAMES = ["corrupt.pdf", "truncated.pdf", "encrypted-user-password.pdf", "encrypted-owner-only.pdf",
         "zero-byte.pdf", "zero-byte.md", "scanned.pdf", "binary-named.pdf", "binary-named.txt",
         "thousands-of-pages.pdf", "enormous-page.pdf", "nested-content.pdf", "nested-resources.pdf",
         "cyclic-page-tree.pdf", "cyclic-parent.pdf", "cyclic-reference.pdf", "self-drawing-form.pdf",
         "zip-bomb.pdf", "cp1252.txt", "mixed-encoding.md", "utf16.txt", "huge.txt", "loop-a.pdf", "dangling.pdf",
         "broken.docx", "truncated.docx", "entity-bomb.docx", "deep-nesting.docx", "zip-bomb.docx",
         "huge.html", "boilerplate.html", "deep-nesting.html", "entities.html"]


def test_the_list_covers_every_hostile_file(hostile):
    _, expect = hostile
    assert set(NAMES) | {"loop-b.pdf"} == set(expect), set(expect) ^ set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_hostile_file_alone(hostile, tmp_path, name):
    folder, expect = hostile
    path = folder / name
    t0 = time.perf_counter()
    report = index.build_index([path], index_dir=tmp_path / "index", progress=False)
    seconds = time.perf_counter() - t0
    assert seconds < 30, f"{name} took {seconds:.1f} s"
    reason = expect[name]
    if reason is None:
        assert report.files == 1 and not report.skipped, report.summary()
        idx = index.Index.load(tmp_path / "index")
        hit = idx.search("Quagga clinic", 1)[0]
        assert "Quagga" in hit.text, hit
    else:
        assert report.files == 0, report.summary()
        assert [p for p, _ in report.skipped] == [str(path)], report.skipped
        said = report.skipped[0][1]
        assert reason in said.lower(), f"{name}: reason {said!r} does not say {reason!r}"
        assert str(path) in report.summary()


def test_decoded_text_is_right(hostile):
    folder, _ = hostile
    from ingest import load_document

    mixed = "\n".join(b.text for b in load_document(folder / "mixed-encoding.md").blocks)
    assert "caf\u00e9 in Gen\u00e8ve" in mixed and "na\u00efve \u201cquote\u201d" in mixed, mixed
    assert "Z\u00fcrich" in load_document(folder / "utf16.txt").blocks[0].text
    doc = load_document(folder / "enormous-page.pdf")
    assert [b.page for b in doc.blocks] == [2] and "page(s) 1 skipped" in doc.warnings[0], doc
    doc = load_document(folder / "thousands-of-pages.pdf")
    assert "5000 pages; only the first 2000" in doc.warnings[0], doc.warnings


def test_hostile_files_mixed_with_good_files(hostile, tmp_path, make_small_corpus):
    folder, expect = hostile
    docs = make_small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    index.build_index([docs], index_dir=index_dir, progress=False)
    before_gen = _live(index_dir)
    before = _fingerprint(before_gen)

    # Only bad files added: nothing to swap, the live generation stays exactly as it was.
    bad_only = tmp_path / "bad-only"
    bad_only.mkdir()
    for name, reason in expect.items():
        if reason is not None and not (folder / name).is_symlink():
            shutil.copy(folder / name, bad_only / name)
    report = index.build_index([docs, bad_only], index_dir=index_dir, progress=False)
    assert not report.swapped and len(report.unchanged) == 3, report.summary()
    assert _live(index_dir) == before_gen and _fingerprint(before_gen) == before

    # Everything together: the good files and the readable hostile ones are indexed.
    report = index.build_index([docs, folder], index_dir=index_dir, progress=False)
    skipped = dict(report.skipped)
    for name, reason in expect.items():
        path = str(folder / name)
        if reason is None:
            assert path in report.added, f"{name} not indexed: {report.summary()}"
        else:
            assert reason in skipped.get(path, "").lower(), f"{name}: {skipped.get(path)!r}"
    assert len(report.unchanged) == 3 and report.swapped, report.summary()
    assert _fingerprint(before_gen) == before, "the previous generation was modified"
    idx = index.Index.load(index_dir)
    assert idx.search("When was the Zebra Health Fund created?", 1)[0].page == 1
    assert "Quagga" in idx.search("How many patients did the Quagga Clinic Trust count?", 1)[0].text


def test_cli_ingest_of_the_hostile_folder_is_bounded(hostile, small_corpus, tmp_path):
    """The real `hpsr ingest` on good and hostile files together: exit 0, every bad file named,
    time and peak memory (the whole process, model included) measured."""
    folder, expect = hostile
    out = tmp_path / "out.txt"
    t0 = time.perf_counter()
    with open(out, "w") as f:
        proc = subprocess.Popen([str(HPSR), "--index", str(tmp_path / "index"), "ingest", "--quiet",
                                 str(small_corpus), str(folder)], stdout=f, stderr=subprocess.STDOUT,
                                cwd=REPO, env={**os.environ, "HPSR_INGEST_THREADS": "1"})
        peak_mb = peak_rss_mb(proc)
        status = proc.wait()
    seconds = time.perf_counter() - t0
    text = out.read_text()
    assert status == 0, text
    bad = [n for n, r in expect.items() if r is not None]
    for name in bad:
        assert f"skipped {folder / name}:" in text, f"{name} not reported:\n{text}"
    good = 3 + len(expect) - len(bad)
    assert f"{good} added" in text, text
    assert peak_mb < 2000 and seconds < 120, (peak_mb, seconds)
    record("hostile_files", files_tried=len(expect) + 3, indexed=good, skipped_with_reason=len(bad),
           peak_rss_mb=round(peak_mb), seconds=round(seconds, 1),
           command="pytest tests/test_hostile_files.py")


def test_a_pdf_that_reads_too_slowly_is_stopped(tmp_path, monkeypatch, make_small_corpus):
    import ingest.pdf

    docs = make_small_corpus(tmp_path / "docs")
    (docs / "slow.pdf").write_bytes(slow_pages(1500))
    monkeypatch.setattr(ingest.pdf, "MAX_PDF_SECONDS", 1.0)
    t0 = time.perf_counter()
    report = index.build_index([docs], index_dir=tmp_path / "index", progress=False)
    assert time.perf_counter() - t0 < 20
    reason = dict(report.skipped)[str(docs / "slow.pdf")]
    assert "longer than 1.0 s" in reason and "of 1500" in reason, reason
    assert len(report.added) == 3, report.summary()


def test_files_that_vanish_or_change_during_the_build(tmp_path, monkeypatch):
    import index.build

    docs = tmp_path / "docs"
    docs.mkdir()
    for name in "abcd":
        (docs / f"{name}.txt").write_text(f"File {name} says the tapir clinic number {name} opened.\n")
    real_sha = index.build.file_sha256

    def racing_sha(path: Path) -> str:
        sha = real_sha(path)
        if path.name == "b.txt":  # a writer replaces b between hashing and reading it
            path.write_text("File b now says the tapir clinic moved to the coast.\n")
        return sha

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "files" and done == 1:
            (docs / "c.txt").unlink()  # vanishes after discovery, before it is read

    monkeypatch.setattr(index.build, "file_sha256", racing_sha)
    report = index.build_index([docs], index_dir=tmp_path / "index", progress=progress)
    assert "no such file" in dict(report.skipped)[str(docs / "c.txt")].lower(), report.skipped
    assert sorted(Path(p).name for p in report.added) == ["a.txt", "b.txt", "d.txt"], report.summary()
    monkeypatch.undo()
    # The next build sees that b changed since it was hashed and reads it again.
    report = index.build_index([docs], index_dir=tmp_path / "index", progress=False)
    assert [Path(p).name for p in report.changed] == ["b.txt"], report.summary()
    texts = [c.text for c in index.Index.load(tmp_path / "index").chunks]
    assert any("moved to the coast" in t for t in texts) and not any("number c" in t for t in texts)


def test_a_missing_source_folder_does_not_empty_the_index(tmp_path, make_small_corpus):
    docs = make_small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    index.build_index([docs], index_dir=index_dir, progress=False)
    live = _live(index_dir)
    docs.rename(tmp_path / "unmounted")
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert not report.removed and not report.swapped and _live(index_dir) == live, report.summary()
    assert "no such file or folder" in dict(report.skipped)[str(docs)]
    assert len(index.Index.load(index_dir).documents) == 3


def test_a_mistyped_path_leaves_the_index_as_it_was(tmp_path, make_small_corpus):
    docs = make_small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    index.build_index([docs], index_dir=index_dir, progress=False)
    live = _live(index_dir)
    report = index.build_index([tmp_path / "dcos"], index_dir=index_dir, progress=False)
    assert not report.removed and not report.swapped and _live(index_dir) == live, report.summary()
    assert any("none of the paths" in n for n in report.notes), report.notes
    assert len(index.Index.load(index_dir).documents) == 3
