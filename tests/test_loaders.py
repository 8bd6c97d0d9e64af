"""Loaders: real files on disk -> Document, or an IngestError that says why not."""
from __future__ import annotations

import os

import pytest

from conftest import PDF_HEADER, PDF_PAGES, PDF_TITLE
from ingest import IngestError, discover, load_document


def _block_texts(doc) -> str:
    return "\n".join(b.text for b in doc.blocks)


# --- PDF -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_doc(small_corpus):
    return load_document(small_corpus / "zebra-report.pdf")


def test_pdf_pages_are_1_based_and_carry_their_own_text(pdf_doc):
    pages = {b.page: b.text for b in pdf_doc.blocks}
    assert sorted(pages) == [1, 2, 3], f"pages: {sorted(pages)}"
    assert "created in 1999 to finance rural clinics" in pages[1], pages[1]
    assert "forty mobile dental units" in pages[2], pages[2]
    assert "Okapi Society audit the accounts" in pages[3], pages[3]
    assert all(b.section is None for b in pdf_doc.blocks)


def test_pdf_dehyphenation_joins_the_split_word(pdf_doc):
    page1 = pdf_doc.blocks[0].text
    assert "health information for every district" in page1, page1
    assert "informa-" not in page1, page1


def test_pdf_running_header_and_page_numbers_are_dropped(pdf_doc):
    text = _block_texts(pdf_doc)
    assert PDF_HEADER not in text, f"running header kept: {text!r}"
    assert "Page 1 of 3" not in text and "Page 2 of 3" not in text, f"footer kept: {text!r}"


def test_pdf_title_from_metadata(pdf_doc):
    assert pdf_doc.title == PDF_TITLE
    assert pdf_doc.doc_id == "zebra-report"
    assert pdf_doc.warnings == ()


def test_pdf_title_from_largest_type_without_metadata(tmp_path, make_pdf):
    path = make_pdf(tmp_path / "no-meta.pdf", [["A small line of body text about wombat burrows."]],
                    big_heading="Wombat Burrow Survey")
    assert load_document(path).title == "Wombat Burrow Survey"


def test_pdf_with_empty_user_password_loads(tmp_path, make_pdf):
    path = make_pdf(tmp_path / "owner-only.pdf", PDF_PAGES[:1], user_password="")
    doc = load_document(path)
    assert "Zebra Health Fund was created in 1999" in doc.blocks[0].text


# --- text and Markdown -----------------------------------------------------------------------

def test_markdown_headings_become_sections_and_title(small_corpus):
    doc = load_document(small_corpus / "okapi-guide.md")
    assert doc.title == "Okapi Field Guide"
    sections = [(b.section, b.page) for b in doc.blocks]
    assert sections == [("Okapi Field Guide", None), ("Feeding Habits", None), ("Conservation", None)]
    by_section = {b.section: b.text for b in doc.blocks}
    assert by_section["Feeding Habits"].startswith("Okapis eat the leaves")
    assert "14,000 square kilometres" in by_section["Conservation"]
    assert not any(b.text.lstrip().startswith("#") for b in doc.blocks), "heading text left in a block"


def test_txt_loads_with_title_and_plain_headings(small_corpus):
    doc = load_document(small_corpus / "lemur-notes.txt")
    assert doc.doc_id == "lemur-notes"
    assert doc.title == "Lemur Clinic Network"
    assert [b.section for b in doc.blocks] == [None, "Staffing"]
    assert "twelve villages" in doc.blocks[0].text
    assert "two nurses" in doc.blocks[1].text
    assert doc.warnings == ()


def test_markdown_without_heading_takes_title_from_first_line(tmp_path):
    path = tmp_path / "plain.md"
    path.write_text("Plain first line\n\nSome body text here.\n", encoding="utf-8")
    assert load_document(path).title == "Plain first line"


def test_nfkc_and_whitespace_normalisation(tmp_path):
    path = tmp_path / "messy.txt"
    # fullwidth letters, runs of spaces and tabs, a no-break space, an "fi" ligature,
    # a zero-width space, a soft hyphen and Windows line ends
    path.write_bytes("Ｆｕｌｌｗｉｄｔｈ   text\u00a0with \t spaces, a \ufb01ne li\u200bgature and "
                     "hy\u00adphen here.\r\nSecond line.   \r\n".encode("utf-8"))
    doc = load_document(path)
    assert doc.blocks[0].text == ("Fullwidth text with spaces, a fine ligature and hyphen here.\n"
                                  "Second line."), repr(doc.blocks[0].text)


def test_non_utf8_text_is_decoded_with_a_warning(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes(b"caf\xe9 \x93quoted\x94 menu of the staff canteen")
    doc = load_document(path)
    assert doc.blocks[0].text == "caf\u00e9 \u201cquoted\u201d menu of the staff canteen"
    assert len(doc.warnings) == 1, doc.warnings
    assert "UTF-8" in doc.warnings[0] and "cp1252" in doc.warnings[0], doc.warnings


def test_utf8_bom_is_not_text(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes("\ufeff# Heading With Bom\n\nBody.\n".encode("utf-8"))
    doc = load_document(path)
    assert doc.title == "Heading With Bom"
    assert doc.blocks[0].section == "Heading With Bom"


# --- bad inputs: each an IngestError that names the file and says why ------------------------

def _reason(path) -> str:
    with pytest.raises(IngestError) as info:
        load_document(path)
    err = info.value
    assert err.path == str(path), f"error names {err.path!r}, not the file {path}"
    assert str(path) in str(err)
    return err.reason.lower()


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "random.pdf"
    path.write_bytes(os.urandom(4096))
    reason = _reason(path)
    assert "corrupt" in reason or "unreadable" in reason, reason


def test_truncated_pdf(tmp_path, make_pdf):
    whole = make_pdf(tmp_path / "whole.pdf", PDF_PAGES, title=PDF_TITLE).read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(whole[: len(whole) // 2])
    reason = _reason(path)
    assert "corrupt" in reason or "unreadable" in reason, reason


def test_pdf_with_user_password_is_refused(tmp_path, make_pdf):
    path = make_pdf(tmp_path / "locked.pdf", PDF_PAGES[:1], user_password="s3cret")
    reason = _reason(path)
    assert "password" in reason and "encrypted" in reason, reason


def test_pdf_without_text(tmp_path, make_pdf):
    path = make_pdf(tmp_path / "drawing.pdf", [[]], draw_only=True)
    assert "no extractable text" in _reason(path)


@pytest.mark.parametrize("name", ["empty.pdf", "empty.txt", "empty.md"])
def test_zero_byte_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert "empty" in _reason(path)


def test_whitespace_only_text(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text(" \n\t\n  \n", encoding="utf-8")
    assert "no text" in _reason(path)


def test_binary_file_with_text_extension(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "binary" in _reason(path)


def test_unsupported_extension(tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"PK\x03\x04 a spreadsheet")
    assert "unsupported" in _reason(path)


def test_missing_file(tmp_path):
    assert "cannot read" in _reason(tmp_path / "nowhere.txt")


# --- discover ---------------------------------------------------------------------------------

def test_discover_lists_supported_files_and_reports_skips(tmp_path, small_corpus):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("Some notes about the wombat survey.\n")
    (tmp_path / "slides.pptx").write_bytes(b"PK")
    (tmp_path / ".hidden.md").write_text("# Hidden\n\nnot indexed\n")
    missing = tmp_path / "does-not-exist"
    files, skipped = discover([tmp_path, small_corpus / "okapi-guide.md", missing])
    names = sorted(f.name for f in files)
    assert names == ["notes.txt", "okapi-guide.md"], names
    reasons = dict(skipped)
    assert "unsupported" in reasons.get(str(tmp_path / "slides.pptx"), ""), skipped
    assert str(missing) in reasons, f"missing path not reported: {skipped}"
    assert "no such file" in reasons[str(missing)]
    assert not any(".hidden" in p for p, _ in skipped), "hidden files are left out silently"


def test_discover_honours_hpsrignore_and_dedupes(tmp_path):
    (tmp_path / "keep.txt").write_text("kept text about otters\n")
    (tmp_path / "draft-1.txt").write_text("ignored draft\n")
    (tmp_path / ".hpsrignore").write_text("# drafts are not indexed\ndraft-*\n")
    files, skipped = discover([tmp_path, tmp_path / "keep.txt"])
    assert [f.name for f in files] == ["keep.txt"], files
    assert skipped == []
