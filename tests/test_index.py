"""Index: build, search, incremental rebuilds, atomic swaps and clear errors, end to end."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import index
import index.store
from chatbot.cli import main
from conftest import PDF_TITLE
from ingest import HpsrError

BARE = (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError, IndexError)


@pytest.fixture(scope="module")
def small(small_index) -> index.Index:
    return index.Index.load(small_index)


def _live(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def _assert_domain_error(err: BaseException) -> None:
    assert isinstance(err, HpsrError) and not isinstance(err, BARE), (
        f"{type(err).__name__} is not a domain error: {err}")


# --- search -------------------------------------------------------------------------------------

def test_search_returns_hits_best_first(small):
    hits = small.search("When was the Zebra Health Fund created?", 5)
    assert hits and all(isinstance(h, index.Hit) for h in hits)
    assert len(hits) <= 5
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True), f"not best first: {scores}"
    for h in hits:
        assert h.text and h.doc_id and h.title and h.chunk_id.startswith(h.doc_id + "#")
        assert isinstance(h.score, float)
        assert h.similarity is not None and -1.0001 <= h.similarity <= 1.0001
    assert len({h.chunk_id for h in hits}) == len(hits), "duplicate hits"


def test_pdf_sentence_found_on_its_page(small):
    top = small.search("When was the Zebra Health Fund created?", 3)[0]
    assert top.doc_id == "zebra-report", top
    assert top.page == 1 and "created in 1999" in top.text, top
    assert top.title == PDF_TITLE
    assert top.citation() == f"{PDF_TITLE}, p. 1"

    top = small.search("mobile dental units", 3)[0]
    assert (top.doc_id, top.page) == ("zebra-report", 2), top

    top = small.search("Who audits the accounts of the fund?", 3)[0]
    assert (top.doc_id, top.page) == ("zebra-report", 3), top


def test_text_files_cite_their_section(small):
    top = small.search("What do okapis eat?", 3)[0]
    assert (top.doc_id, top.section, top.page) == ("okapi-guide", "Feeding Habits", None), top
    assert top.citation() == "Okapi Field Guide, Feeding Habits"
    top = small.search("how many nurses work in each lemur clinic", 3)[0]
    assert (top.doc_id, top.section) == ("lemur-notes", "Staffing"), top


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_finds_the_sentence(small, mode):
    hits = small.search("forty mobile dental units", 3, mode=mode)
    assert hits and "mobile dental units" in hits[0].text, (mode, hits)
    if mode == "bm25":
        assert hits[0].similarity is None


def test_doc_filter_restricts_results(small):
    hits = small.search("clinic", 10, doc="lemur-notes")
    assert hits and {h.doc_id for h in hits} == {"lemur-notes"}, hits
    hits = small.search("health fund", 10, doc="okapi-guide", mode="dense")
    assert hits and {h.doc_id for h in hits} == {"okapi-guide"}, hits


def test_k_larger_than_the_index(small):
    hits = small.search("zebra", 1000)
    assert len(hits) == len(small.chunks)


def test_documents_lists_every_document(small):
    assert small.documents == {"zebra-report": PDF_TITLE, "okapi-guide": "Okapi Field Guide",
                               "lemur-notes": "Lemur Clinic Network"}


@pytest.mark.parametrize("query, k, doc", [
    ("", 5, None), ("   \n\t", 5, None), ("zebra", 0, None), ("zebra", -3, None),
    ("zebra", 2.5, None), ("zebra", 5, "no-such-doc")])
def test_bad_queries_raise_query_error(small, query, k, doc):
    with pytest.raises(index.QueryError) as info:
        small.search(query, k, doc=doc)
    assert str(info.value)
    if doc:
        assert doc in str(info.value) and "zebra-report" in str(info.value)


def test_unknown_mode_raises_query_error(small):
    with pytest.raises(index.QueryError):
        small.search("zebra", 3, mode="telepathy")


# --- incremental rebuilds --------------------------------------------------------------------------

@pytest.fixture
def built(tmp_path, make_small_corpus):
    """A private copy of the small corpus, indexed: (docs folder, index dir, first report)."""
    docs = make_small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert report.swapped and len(report.added) == 3 and report.embedded == report.chunks
    return docs, index_dir, report


def _key(path: Path) -> str:
    from index.paths import key_of, roots

    return key_of(path, roots(index.Settings.load()))


def _manifest(index_dir: Path) -> dict:
    return json.loads((_live(index_dir) / "manifest.json").read_text())


def test_rebuild_with_nothing_changed_embeds_nothing(built):
    docs, index_dir, first = built
    live = _live(index_dir)
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert report.embedded == 0 and not report.swapped, report.summary()
    assert len(report.unchanged) == 3 and not (report.added or report.changed or report.removed)
    assert report.chunks == first.chunks
    assert _live(index_dir) == live, "a new generation was made for nothing"


def test_rebuild_after_a_content_change_embeds_only_that_file(built):
    docs, index_dir, first = built
    notes = docs / "lemur-notes.txt"
    notes.write_text("Capybara Census\n\nThe capybara census counted nine hundred animals near "
                     "the river delta in the dry season.\n", encoding="utf-8")
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert report.changed == [str(notes)] and not report.added and not report.removed, report.summary()
    n_notes = _manifest(index_dir)["files"][_key(notes)]["chunks"]
    assert report.embedded == n_notes < report.chunks, report.summary()
    assert report.swapped
    idx = index.Index.load(index_dir)
    top = idx.search("how many capybaras were counted", 3)[0]
    assert top.doc_id == "lemur-notes" and "nine hundred" in top.text, top
    assert not any("twelve villages" in c.text for c in idx.chunks), "old text still indexed"


def test_each_chunk_points_into_the_page_or_section_text_the_index_keeps(built):
    """blocks.jsonl holds each page's text, so an answer can quote a sentence a chunk edge cut;
    a rebuild keeps the blocks of unchanged files and replaces those of changed ones."""
    docs, index_dir, _ = built
    idx = index.Index.load(index_dir)
    for i, c in enumerate(idx.chunks):
        block, start, end = idx.passage(idx.hit(i, 0.0))
        assert block.text[start:end] == c.text and c.kind in ("text", "references", "contents", "figure")
    page2 = idx.search("mobile dental units", 1)[0]
    assert page2.page == 2 and "forty mobile dental units" in idx.passage(page2)[0].text
    notes = docs / "lemur-notes.txt"
    notes.write_text("Capybara Census\n\nThe capybara census counted nine hundred animals.\n", encoding="utf-8")
    index.build_index([docs], index_dir=index_dir, progress=False)
    again = index.Index.load(index_dir)
    texts = {d: " ".join(b.text for b in bs) for d, bs in again.generation.blocks.items()}
    assert "nine hundred animals" in texts["lemur-notes"] and "twelve villages" not in texts["lemur-notes"]
    assert "forty mobile dental units" in texts["zebra-report"]  # unchanged file: blocks carried over


def test_changing_one_section_re_embeds_only_that_chunk(built):
    docs, index_dir, _ = built
    guide = docs / "okapi-guide.md"
    guide.write_text(guide.read_text().replace("browsing at dawn", "browsing mostly at dusk"))
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert report.changed == [str(guide)], report.summary()
    assert report.embedded == 1, f"identical passages were embedded again: {report.summary()}"


def test_deleted_file_is_removed_from_the_index(built):
    docs, index_dir, _ = built
    (docs / "okapi-guide.md").unlink()
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert report.removed == [_key(docs / "okapi-guide.md")], report.summary()
    assert report.embedded == 0 and report.swapped
    idx = index.Index.load(index_dir)
    assert "okapi-guide" not in idx.documents
    assert not any(h.doc_id == "okapi-guide" for h in idx.search("What do okapis eat?", 10))
    with pytest.raises(index.QueryError):
        idx.search("okapi", 3, doc="okapi-guide")


def test_touching_mtime_only_embeds_nothing(built):
    docs, index_dir, _ = built
    for f in docs.iterdir():
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert report.embedded == 0 and not report.changed and len(report.unchanged) == 3, report.summary()


def test_bad_files_are_skipped_and_good_files_still_indexed(built):
    docs, index_dir, _ = built
    (docs / "broken.pdf").write_bytes(os.urandom(2048))
    (docs / "empty.txt").write_bytes(b"")
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    reasons = dict(report.skipped)
    assert set(reasons) == {str(docs / "broken.pdf"), str(docs / "empty.txt")}, report.skipped
    assert "corrupt" in reasons[str(docs / "broken.pdf")]
    assert "empty" in reasons[str(docs / "empty.txt")]
    assert len(report.unchanged) == 3 and report.embedded == 0
    assert "broken.pdf" in report.summary() and "empty.txt" in report.summary()
    top = index.Index.load(index_dir).search("When was the Zebra Health Fund created?", 3)[0]
    assert top.page == 1 and "1999" in top.text


def test_first_build_with_bad_files_skips_them(tmp_path, make_small_corpus):
    docs = make_small_corpus(tmp_path / "docs")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(512))
    (docs / "empty.md").write_bytes(b"")
    report = index.build_index([docs], index_dir=tmp_path / "index", progress=False)
    assert report.swapped and len(report.added) == 3 and len(report.skipped) == 2, report.summary()
    assert index.Index.load(tmp_path / "index").search("okapi food", 1)[0].doc_id == "okapi-guide"


# --- atomic swap ------------------------------------------------------------------------------------

def test_failed_build_leaves_the_old_generation_live(built, monkeypatch):
    docs, index_dir, _ = built
    old_live = _live(index_dir)
    notes = docs / "lemur-notes.txt"
    notes.write_text("Capybara Census\n\nThe capybara census counted nine hundred animals.\n")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index.store, "write_sparse", disk_full)
    with pytest.raises(OSError):
        index.build_index([docs], index_dir=index_dir, progress=False)
    assert _live(index_dir) == old_live, "CURRENT moved to a half-written generation"
    assert list(index_dir.glob(".tmp-*")), "expected the crashed build's staging folder"

    idx = index.Index.load(index_dir)
    assert idx.generation.path == old_live
    assert not any("capybara" in c.text.lower() for c in idx.chunks)
    top = idx.search("How many villages does the lemur clinic network serve?", 3)[0]
    assert "twelve villages" in top.text, top

    monkeypatch.undo()
    report = index.build_index([docs], index_dir=index_dir, progress=False)
    assert report.swapped and report.changed == [str(notes)], report.summary()
    assert not list(index_dir.glob(".tmp-*")), "leftover staging folder not removed"
    top = index.Index.load(index_dir).search("capybara census", 1)[0]
    assert "nine hundred" in top.text


def test_old_generations_are_pruned(built):
    docs, index_dir, _ = built
    for i in range(3):
        (docs / "lemur-notes.txt").write_text(f"Version {i} of the notes on tapir clinics and their "
                                              f"{i + 3} nurses.\n" * (i + 1))
        index.build_index([docs], index_dir=index_dir, progress=False)
    gens = sorted(p.name for p in index_dir.glob("gen-*"))
    assert len(gens) <= 2 and _live(index_dir).name in gens, gens


# --- errors when opening --------------------------------------------------------------------------

def test_settings_mismatch(tmp_path, small_corpus):
    other = index.Settings.load(chunk_tokens=128, overlap_tokens=16)
    index.build_index([small_corpus], index_dir=tmp_path / "idx", settings=other, progress=False)
    index.Index.load(tmp_path / "idx", settings=other)  # its own settings read it fine
    with pytest.raises(index.IndexMismatchError) as info:
        index.Index.load(tmp_path / "idx")
    _assert_domain_error(info.value)
    assert "hpsr ingest" in str(info.value) and "chunk" in str(info.value), str(info.value)


def test_settings_mismatch_is_rebuilt_not_reused(tmp_path, small_corpus):
    other = index.Settings.load(chunk_tokens=128, overlap_tokens=16)
    index.build_index([small_corpus], index_dir=tmp_path / "idx", settings=other, progress=False)
    report = index.build_index([small_corpus], index_dir=tmp_path / "idx", progress=False)
    assert report.swapped and len(report.added) == 3, report.summary()
    assert any("not reused" in n for n in report.notes), report.notes
    index.Index.load(tmp_path / "idx")


@pytest.mark.parametrize("where", ["missing", "empty-folder"])
def test_index_not_found(tmp_path, where):
    path = tmp_path / "nothing"
    if where == "empty-folder":
        path.mkdir()
    with pytest.raises(index.IndexNotFoundError) as info:
        index.Index.load(path)
    _assert_domain_error(info.value)
    assert str(path) in str(info.value) and "hpsr ingest" in str(info.value)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", [
    lambda gen: _truncate(gen / "vectors.faiss"),
    lambda gen: (gen / "vectors.faiss").write_bytes(b""),
    lambda gen: (gen / "manifest.json").unlink(),
    lambda gen: (gen / "manifest.json").write_text("{not json"),
    lambda gen: (gen / "chunks.jsonl").write_text('{"chunk_id": "x"}\n'),
    lambda gen: _truncate(gen / "chunks.jsonl"),
    lambda gen: shutil.rmtree(gen / "bm25"),
    lambda gen: (gen / "blocks.jsonl").unlink(),
    lambda gen: shutil.rmtree(gen),
    lambda gen: (gen.parent / "CURRENT").write_text("../../etc"),
], ids=["truncated-vectors", "empty-vectors", "no-manifest", "bad-manifest", "bad-chunks",
        "truncated-chunks", "no-bm25", "no-blocks", "no-generation", "bad-current"])
def test_corrupt_index(tmp_path, small_index, damage):
    index_dir = tmp_path / "idx"
    shutil.copytree(small_index, index_dir)
    damage(_live(index_dir))
    with pytest.raises(index.IndexCorruptError) as info:
        index.Index.load(index_dir)
    _assert_domain_error(info.value)
    assert "hpsr ingest" in str(info.value), str(info.value)


def test_corrupt_index_is_rebuilt(tmp_path, small_corpus, small_index):
    index_dir = tmp_path / "idx"
    shutil.copytree(small_index, index_dir)
    _truncate(_live(index_dir) / "vectors.faiss")
    report = index.build_index([small_corpus], index_dir=index_dir, progress=False)
    assert report.swapped and len(report.added) == 3 and report.notes, report.summary()
    assert index.Index.load(index_dir).search("zebra", 1)


# --- CLI ---------------------------------------------------------------------------------------------

def test_cli_search_json(small_index, capsys):
    assert main(["--index", str(small_index), "search", "Zebra fund", "--json"]) == 0
    out = capsys.readouterr().out
    hits = json.loads(out)
    assert isinstance(hits, list) and 0 < len(hits) <= 5
    assert {"text", "score", "doc_id", "title", "page", "chunk_id"} <= set(hits[0])
    assert hits[0]["doc_id"] == "zebra-report" and hits[0]["page"] == 1, hits[0]


def test_cli_search_text_output(small_index, capsys):
    assert main(["--index", str(small_index), "search", "okapi food", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "[1]" in out and "Okapi Field Guide" in out


@pytest.mark.parametrize("argv", [
    ["search", "  "],
    ["search", "zebra", "-k", "0"],
    ["search", "zebra", "--doc", "nope"],
], ids=["blank-query", "k0", "unknown-doc"])
def test_cli_errors_are_one_line(small_index, capsys, argv):
    assert main(["--index", str(small_index), *argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("hpsr: error:") and "\n" not in err, captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_cli_missing_index_is_one_line(tmp_path, capsys):
    assert main(["--index", str(tmp_path / "none"), "search", "zebra"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hpsr: error:") and "\n" not in err and "hpsr ingest" in err, err


def test_identical_chunks_are_embedded_once(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "Shared Notes\n\nThe quokka census counted nine hundred animals near the river delta.\n"
    (docs / "a.txt").write_text(text, encoding="utf-8")
    (docs / "b.txt").write_text(text, encoding="utf-8")  # same title, same text: same embedding input
    report = index.build_index([docs], index_dir=tmp_path / "index", progress=False)
    assert report.chunks == 2 and report.embedded == 1, report.summary()
    idx = index.Index.load(tmp_path / "index")
    hits = idx.search("quokka census", 2, mode="dense")
    assert {h.doc_id for h in hits} == {"a", "b"} and hits[0].similarity == pytest.approx(hits[1].similarity)
