"""Every document a researcher has (issue 25): Word files, saved web pages, scanned PDFs read by
OCR, pages in two columns read column by column, and the one registry of file types that
ingest, the upload control and the viewer read."""
from __future__ import annotations

import difflib
import json
import re

import pytest

import index
from conftest import REPO
from documents import (COMMENT, FOOTNOTE, LEFT, RIGHT, SCAN_FACT, SCAN_TEXT, TITLE, WEB_FACT, WORD_FACT,
                       write_docx, write_html, write_scan, write_text_then_image, write_two_columns)
from ingest import IngestError, discover, load_document
from ingest.formats import FORMATS, SUPPORTED, described, format_of


def _squeeze(text: str) -> str:
    return " ".join(text.split())


# --- Word ----------------------------------------------------------------------------------------

def test_a_word_file_is_read_by_section_with_its_table_and_without_notes(tmp_path):
    doc = load_document(write_docx(tmp_path / "brief.docx"))
    assert doc.title == "Midwifery workforce brief"
    sections = {b.section: b.text for b in doc.blocks}
    assert WORD_FACT in sections["Background"] and all(b.page is None for b in doc.blocks)
    assert "• Rural posts were advertised twice a year." in sections["Background"]
    assert "Vacancies remain highest" in sections["Regional figures"]
    (table,) = doc.tables
    assert table.caption == "Table 2 Midwives by region" and table.header == ("Region", "2020", "2021")
    assert table.rows == (("Delta", "1210", "1388"), ("Highlands", "1190", "1330"))
    everything = " ".join(b.text for b in doc.blocks) + json.dumps([t.rows for t in doc.tables])
    assert "Table 2 Midwives" not in everything  # the caption is the table's, not a sentence
    assert FOOTNOTE not in everything and COMMENT not in everything  # in their own parts, never read
    assert "Zanzibar" not in everything and "Kilimanjaro" not in everything


def test_a_word_file_without_tables_wanted_keeps_its_rows_as_text(tmp_path):
    doc = load_document(write_docx(tmp_path / "brief.docx", notes=False), tables=False)
    assert not doc.tables and "Delta — 1210 — 1388" in " ".join(b.text for b in doc.blocks)


# --- web pages -----------------------------------------------------------------------------------

def test_a_web_page_keeps_its_main_content_only(tmp_path):
    doc = load_document(write_html(tmp_path / "clinics.html"))
    text = " ".join(b.text for b in doc.blocks)
    assert doc.title == "Mobile clinics in Tamarind Valley"
    assert WEB_FACT in text and "from a health centre, according to" in text  # a link keeps its words
    for boilerplate in ("SCRIPT-TEXT", "NAVIGATION-MENU", "COOKIE-BANNER", "FOOTER-TEXT", "color: red", "https://"):
        assert boilerplate not in text, boilerplate
    assert {b.section for b in doc.blocks} >= {"Staffing"}
    (table,) = doc.tables
    assert table.caption == "Table 1 Mobile clinic visits" and table.rows[1] == ("South", "380", "702")


def test_markup_written_as_text_on_a_web_page_reaches_the_chat_as_text(tmp_path):
    """The page's '&lt;img onerror&gt;' is text in the document; in the chat it stays text."""
    from chatbot.answer import answer
    from chatbot.render import answer_markdown, sources_markdown

    (tmp_path / "docs").mkdir()
    write_html(tmp_path / "docs" / "clinics.html")
    index.build_index([tmp_path / "docs"], tmp_path / "index", progress=False)
    idx = index.Index.load(tmp_path / "index")
    assert "<img src=x onerror=alert(1)>" in idx.document_text("clinics")
    ans = answer(idx, "Who staffs each mobile clinic?")
    shown = answer_markdown(ans) + sources_markdown(ans)
    assert "<img" not in shown and "onerror=alert(1)>" not in shown


# --- scans ---------------------------------------------------------------------------------------

def test_a_scanned_page_is_read_by_ocr_and_marked(tmp_path):
    doc = load_document(write_scan(tmp_path / "scan.pdf"))
    (block,) = doc.blocks
    assert block.ocr and block.page == 1 and any("OCR" in w for w in doc.warnings)
    want, got = _squeeze(" ".join(SCAN_TEXT)), _squeeze(block.text)
    accuracy = difflib.SequenceMatcher(None, want, got, autojunk=False).ratio()
    assert accuracy >= 0.95, (accuracy, got)
    assert SCAN_FACT in got


def test_ocr_is_bounded_by_pages_and_by_time_per_page(tmp_path, monkeypatch):
    import ingest.ocr as ocr

    path = write_scan(tmp_path / "scan.pdf", pages=2)
    monkeypatch.setattr(ocr, "MAX_OCR_PAGES", 1)
    with pytest.raises(IngestError, match="2 pages to read by OCR; the limit is 1"):
        load_document(path)
    monkeypatch.setattr(ocr, "MAX_OCR_PAGES", 100)
    monkeypatch.setattr(ocr, "MAX_OCR_PAGE_SECONDS", 0)
    with pytest.raises(IngestError, match="OCR of page 1 took .* the limit is 0 s a page; skipped"):
        load_document(path)


def test_a_blank_page_with_a_small_image_is_not_read_by_ocr(tmp_path, monkeypatch):
    """A rule or a logo on a page without text is not a scan: no OCR time spent on it."""
    import ingest.ocr as ocr
    from PIL import Image

    Image.new("L", (5, 700), 0).save(tmp_path / "strip.png")
    write_text_then_image(tmp_path / "covers.pdf", tmp_path / "strip.png", width_mm=2, height_mm=200)
    monkeypatch.setattr(ocr, "read_pages", lambda *a, **k: pytest.fail("OCR was run"))
    doc = load_document(tmp_path / "covers.pdf")
    assert not any(b.ocr for b in doc.blocks)


# --- two columns ---------------------------------------------------------------------------------

def test_a_page_drawn_across_its_two_columns_is_read_column_by_column(tmp_path):
    import pypdf

    path = write_two_columns(tmp_path / "across.pdf", interleaved=True)
    raw = _squeeze(pypdf.PdfReader(str(path)).pages[0].extract_text())
    assert f"{LEFT[0]} {RIGHT[0]}" in raw  # as drawn: each sentence spliced with its neighbour
    text = _squeeze(load_document(path).blocks[0].text)
    assert _squeeze(" ".join(LEFT)) in text and _squeeze(" ".join(RIGHT)) in text, text
    assert text.startswith(TITLE) and text.index(LEFT[0]) < text.index(RIGHT[0])  # the title whole, first


def test_a_page_drawn_column_after_column_keeps_its_text(tmp_path):
    path = write_two_columns(tmp_path / "columns.pdf", interleaved=False)
    text = _squeeze(load_document(path).blocks[0].text)
    assert _squeeze(" ".join(LEFT)) in text and _squeeze(" ".join(RIGHT)) in text


def test_the_bundled_two_column_pages_are_read_column_by_column():
    """The assessment's section IV is set in two columns: each column's sentences read whole."""
    doc = load_document(REPO / "corpus" / "phc-palliative-assessment-kosovo-2025.pdf")
    page = _squeeze(next(b.text for b in doc.blocks if b.page == 20))
    for sentence in ("The retention of family doctors and specialists poses a particular problem in rural "
                     "and remote areas.",
                     "Nurses have a limited scope of practice despite standards and descriptions on their "
                     "roles being available."):
        assert sentence in page, sentence


# --- one registry --------------------------------------------------------------------------------

def test_one_registry_names_every_type_for_ingest_upload_and_viewer(tmp_path, small_index):
    from chatbot.app import build_app
    from index import Settings

    assert set(SUPPORTED) == {".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".markdown"}
    for fmt in FORMATS:
        for suffix in fmt.suffixes:
            assert format_of(f"a{suffix.upper()}") is fmt
            (tmp_path / f"file{suffix}").write_bytes(b"x")
        assert fmt.media_type in ("application/pdf", "text/plain; charset=utf-8")
    (tmp_path / "sheet.xlsx").write_bytes(b"x")
    found, skipped = discover([tmp_path])
    assert sorted(f.suffix for f in found) == sorted(SUPPORTED)
    assert skipped == [(str(tmp_path / "sheet.xlsx"), "unsupported file type '.xlsx'")]
    with pytest.raises(IngestError, match=re.escape(described())):
        load_document(tmp_path / "sheet.xlsx")
    demo = build_app(Settings.load(index_dir=small_index, library_dir=tmp_path / "lib"))
    upload = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "upload")
    assert set(upload.file_types) == set(SUPPORTED) and upload.label == described()


# --- the targets: each holds one fact, found and quoted ------------------------------------------

@pytest.fixture(scope="module")
def library(tmp_path_factory, small_corpus):
    import shutil

    root = tmp_path_factory.mktemp("library")
    docs = root / "docs"
    shutil.copytree(small_corpus, docs)
    write_docx(docs / "midwives-brief.docx")
    write_html(docs / "mobile-clinics.html")
    write_scan(docs / "district-scan.pdf")
    report = index.build_index([docs], root / "index", progress=False)
    assert not report.skipped, report.summary()
    return root


QUESTIONS = [("midwives-brief", "How many community midwives did the Okavango Nursing Council register in 2021?", "2718"),
             ("mobile-clinics", "How many mobile clinics did the Tamarind Valley health board open in 2022?", "37 mobile clinics"),
             ("district-scan", "How many malaria patients did the Marula District hospital treat in 2020?", "6120")]


@pytest.mark.parametrize("doc_id,question,fact", QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_each_type_finds_its_fact_in_the_top_3_and_ask_quotes_it(library, capsys, doc_id, question, fact):
    from chatbot.cli import ANSWERED, main

    idx = index.Index.load(library / "index")
    hits = idx.search(question, 3)
    assert any(h.doc_id == doc_id and fact in h.text for h in hits), [(h.doc_id, h.text[:60]) for h in hits]
    assert main(["--index", str(library / "index"), "ask", question, "--json"]) == ANSWERED
    data = json.loads(capsys.readouterr().out)
    assert fact in data["answer"] and data["citations"][0]["doc_id"] == doc_id, data["answer"]
    cited = data["citations"][0]
    if doc_id == "district-scan":
        assert cited["ocr"] is True and "read by OCR" in cited["where"] and cited["page"] == 1
    else:
        assert cited["ocr"] is False and cited["page"] is None and cited["where"], cited["where"]


def test_the_viewer_serves_a_word_file_and_a_web_page_as_their_text(library):
    import urllib.request

    from chatbot.app import build_app, start
    from hostile import free_port
    from index import Settings

    settings = Settings.load(index_dir=library / "index", library_dir=library / "uploads")
    demo = build_app(settings)
    port = free_port()
    start(demo, settings, port=port)
    try:
        for doc_id, fact in (("midwives-brief", WORD_FACT), ("mobile-clinics", WEB_FACT)):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hpsr/meta/{doc_id}") as r:
                assert json.loads(r.read())["kind"] == "text"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hpsr/doc/{doc_id}") as r:
                body = r.read().decode("utf-8")
                assert r.headers["Content-Type"].startswith("text/plain")
            assert fact in body and "<html" not in body and "SCRIPT-TEXT" not in body and "PK\x03\x04" not in body
        _highlighted_in_the_browser(port, settings)
    finally:
        demo.close()


def _highlighted_in_the_browser(port: int, settings) -> None:
    """A citation of a Word file and of a web page opens the viewer on its text, the quoted
    sentence marked (in Chromium, when it is installed)."""
    import os

    from chatbot.app import ChatApp
    from index.settings import suite_variable
    from test_app import ARGS, CHROMIUM

    if not os.path.exists(CHROMIUM):
        if suite_variable("HPSR_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for doc_id, question, fact in QUESTIONS[:2]:
                cited = ChatApp(settings).answer_api(question)["citations"][0]
                assert cited["doc_id"] == doc_id
                tab = browser.new_page()
                tab.goto(f"http://127.0.0.1:{port}{cited['viewer_url']}")
                tab.wait_for_selector('#status[data-done="1"]', state="attached", timeout=30_000)
                marked = tab.locator("pre.text mark")
                assert marked.count() >= 1 and fact in " ".join(marked.all_inner_texts()), doc_id
                assert tab.locator("pre.text script, pre.text img, pre.text a").count() == 0
        finally:
            browser.close()


def test_past_the_ocr_bounds_a_pdf_with_text_keeps_its_text_pages(tmp_path, monkeypatch):
    """Only a scan with nothing else is skipped past the bounds; a report with a text layer
    keeps its text pages, and the build says OCR stopped."""
    import ingest.ocr as ocr
    import pypdfium2 as pdfium

    scan = write_scan(tmp_path / "scan.pdf")
    pdfium.PdfDocument(str(scan))[0].render(scale=1).to_pil().save(tmp_path / "page.png")
    write_text_then_image(tmp_path / "mixed.pdf", tmp_path / "page.png")
    monkeypatch.setattr(ocr, "MAX_OCR_PAGES", 0)
    doc = load_document(tmp_path / "mixed.pdf")
    assert [b.page for b in doc.blocks] == [1] and not doc.blocks[0].ocr
    assert any("the pages with a text layer were kept" in w for w in doc.warnings), doc.warnings


def test_a_page_of_huge_coordinates_is_read_in_bounded_time(tmp_path):
    """Where text sits is the file's say: a run at x = 5,000,000 costs no more than any other."""
    import time

    from ingest.layout import Box, columns, reading_order

    boxes = [Box(10, 10 * i, 200, 10 * i + 8, f"left {i}") for i in range(20)]
    boxes += [Box(300, 10 * i, 500, 10 * i + 8, f"right {i}") for i in range(20)]
    boxes.append(Box(5_000_000, 5, 5_000_100, 13, "far away"))
    t0 = time.perf_counter()
    reading_order(boxes)
    columns(boxes)
    assert time.perf_counter() - t0 < 0.5


def test_tables_without_a_caption_under_one_heading_stay_apart(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("Staff and beds", 1)
    for rows in ([("Role", "2020"), ("Nurses", "12")], [("Ward", "2020"), ("East", "40")]):
        t = d.add_table(rows=2, cols=2)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                t.cell(i, j).text = v
        d.add_paragraph("Table 9 shows that the wards grew.")  # a sentence, not a caption
    d.save(str(tmp_path / "two.docx"))
    doc = load_document(tmp_path / "two.docx")
    assert [t.caption for t in doc.tables] == ["Table in Staff and beds", "Table in Staff and beds (2)"]
    assert "Table 9 shows that the wards grew." in doc.blocks[0].text


def test_web_lines_and_nested_lists_are_read_once_with_their_spaces(tmp_path):
    page = tmp_path / "nested.html"
    page.write_text("<html><body><article><h1>Clinic</h1><p>Address line one<br>second line of the clinic's "
                    "address in the hills.</p><ul><li>Outer item about the nurses<ul><li>twelve doctors "
                    "on the inner list</li></ul></li><li>Another outer item</li></ul><p>A closing "
                    "paragraph long enough to be kept as the page's main text.</p></article></body></html>")
    text = " ".join(b.text for b in load_document(page).blocks)
    assert "Address line one second line" in text
    assert text.count("twelve doctors") == 1 and "• Outer item about the nurses\n" in text


def test_a_tracked_insertion_is_read_and_a_malformed_file_skipped(tmp_path):
    import io
    import zipfile

    data = write_docx(tmp_path / "brief.docx", notes=False).read_bytes()
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()

    def rewrite(name: str, new: str):
        with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(tmp_path / name, "w") as z:
            for item in zin.infolist():
                z.writestr(item, new if item.filename == "word/document.xml" else zin.read(item.filename))
        return tmp_path / name

    inserted = rewrite("ins.docx", xml.replace("<w:r><w:t>This brief", '<w:ins w:id="9" w:author="a"><w:r>'
                                               "<w:t>Inserted words. </w:t></w:r></w:ins><w:r><w:t>This brief", 1))
    assert "Inserted words. This brief" in load_document(inserted).blocks[0].text
    broken = rewrite("grid.docx", xml.replace("<w:tc><w:tcPr>", '<w:tc><w:tcPr><w:gridSpan w:val="abc"/>', 1))
    with pytest.raises(IngestError, match="damaged Word document"):
        load_document(broken)
