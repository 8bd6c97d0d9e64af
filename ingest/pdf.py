"""PDF loader (pypdf): text per page, 1-based page numbers, title from metadata or big type."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from ingest.errors import IngestError
from ingest.layout import Box, columns, reading_order, segments
from ingest.loaders import (MAX_PAGE_CONTENT_BYTES, MAX_PDF_PAGES, MAX_PDF_SECONDS, MAX_TABLE_SECONDS,
                            MIN_TEXT_CHARS, pdf_pages_to_blocks)
from ingest.normalize import clean_title, name_as_title
from ingest.types import Document

logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns loudly on harmless quirks


def load_pdf(path: Path, doc_id: str, tables: bool = True) -> Document:
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    warnings: list[str] = []
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password; those open fine.
            if not reader.decrypt(""):
                raise IngestError(str(path), "encrypted PDF that needs a password; skipped")
        n_pages = len(reader.pages)
    except IngestError:
        raise
    except (FileNotDecryptedError, NotImplementedError) as e:
        raise IngestError(str(path), f"encrypted PDF that cannot be opened ({e})") from e
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as e:
        raise IngestError(str(path), f"corrupt or unreadable PDF ({type(e).__name__}: {e})") from e
    except Exception as e:  # pypdf raises many ad-hoc types on damaged files
        raise IngestError(str(path), f"corrupt or unreadable PDF ({type(e).__name__}: {e})") from e
    if n_pages == 0:
        raise IngestError(str(path), "PDF has no pages")
    if n_pages > MAX_PDF_PAGES:
        warnings.append(f"{n_pages} pages; only the first {MAX_PDF_PAGES} were read")

    # pypdf is pure Python and cannot be interrupted mid-page; the content cap bounds one page,
    # the clock (checked between pages) bounds the whole file.
    deadline = time.monotonic() + MAX_PDF_SECONDS
    pages: list[str] = []
    bad_pages: list[int] = []
    huge_pages: list[int] = []
    interleaved: list[int] = []  # pages in columns whose text runs from one column to the other
    first_error: Exception | None = None
    for i in range(min(n_pages, MAX_PDF_PAGES)):
        if time.monotonic() > deadline:
            raise IngestError(str(path), f"reading took longer than {MAX_PDF_SECONDS} s (stopped at "
                                         f"page {i + 1} of {n_pages}); skipped")
        try:
            page = reader.pages[i]
            if _content_bytes(page) > MAX_PAGE_CONTENT_BYTES:
                huge_pages.append(i + 1)
                pages.append("")
                continue
            text, spliced = _page_text(page)
            pages.append(text)
            if spliced:
                interleaved.append(i + 1)
        except Exception as e:  # one damaged page should not lose the rest of the document
            pages.append("")
            bad_pages.append(i + 1)
            first_error = first_error or e
    if huge_pages:
        warnings.append(f"page(s) {_ranges(huge_pages)} skipped: more than "
                        f"{MAX_PAGE_CONTENT_BYTES >> 20} MB of page content")
    if bad_pages:
        warnings.append(f"text of page(s) {_ranges(bad_pages)} could not be extracted")
    if interleaved:
        for n, text in _by_columns(path, interleaved).items():
            pages[n - 1] = text
    scanned = [i + 1 for i, text in enumerate(pages) if len(text.strip()) < MIN_TEXT_CHARS
               and i + 1 not in huge_pages and _has_image(reader.pages[i])]
    if scanned:
        from ingest.ocr import read_pages

        has_text = any(len(p.strip()) >= MIN_TEXT_CHARS for p in pages)
        read, problem = read_pages(path, scanned, only_scans=not has_text)
        for n, text in read.items():
            pages[n - 1] = text
        scanned = sorted(read)
        if scanned:
            warnings.append(f"page(s) {_ranges(scanned)} read by OCR (no text layer)")
        if problem:
            warnings.append(problem)
    if not any(len(p.strip()) >= MIN_TEXT_CHARS for p in pages):
        raise IngestError(str(path), _no_text_reason(len(pages), bad_pages, huge_pages, first_error))
    skip = set(huge_pages + bad_pages + scanned)
    found = _tables(path, pages, skip, deadline, warnings) if tables else []
    labels = _page_labels(reader, len(pages))
    blocks = pdf_pages_to_blocks(pages, labels, ocr=frozenset(scanned))
    title = clean_title(_title(reader, path, first_page_ok=1 not in huge_pages + bad_pages))
    return Document(doc_id=doc_id, title=title, source=str(path), blocks=tuple(blocks),
                    warnings=tuple(warnings), tables=tuple(found), page_labels=tuple(labels))


def _page_labels(reader, n: int) -> list[str]:
    """The numbers printed on the pages (the PDF's page labels: "ii", "13"), else 1, 2, 3..."""
    try:
        labels = [str(label)[:20] for label in reader.page_labels[:n]]
    except Exception:  # a damaged /PageLabels tree: physical numbers
        labels = []
    return labels if len(labels) == n else [str(i) for i in range(1, n + 1)]


def _tables(path: Path, pages: list[str], skip: set[int], deadline: float, warnings: list[str]):
    """The PDF's captioned tables; the pages they are on get their other text only (in place),
    so a table's cells are not indexed twice. Whatever fails falls back to the page's text."""
    from ingest.tables import extract_tables

    found = extract_tables(path, pages, skip, min(deadline, time.monotonic() + MAX_TABLE_SECONDS))
    for n, text in found.prose.items():
        pages[n - 1] = text
    if found.failed_pages:
        warnings.append(f"tables on page(s) {_ranges(found.failed_pages)} could not be read; "
                        f"their text is indexed as prose")
    if found.timed_out_at is not None:
        warnings.append(f"reading tables stopped at page {found.timed_out_at} (time limit); "
                        f"later tables are indexed as prose")
    return found.tables


def _page_text(page) -> tuple[str, bool]:
    """A page's text (pypdf, in the order the page draws it), and whether that order splices
    columns: most PDFs draw a column before the next, but some draw each line across the page,
    and their text reads "left line 1 right line 1 left line 2 ...". The positions of the text
    runs tell: on a page set in columns (ingest.layout), the runs jump from one side of the
    gutter to the other many times."""
    runs: list[Box] = []

    def visit(text, cm, tm, font, size):
        if text.strip() and cm and tm:
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            height = abs(size * tm[3] * cm[3]) or abs(size) or 1.0
            runs.append(Box(x, -y - height, x + 0.5 * height * len(text.strip()), -y, text))

    text = page.extract_text(visitor_text=visit) or ""
    gutter = columns(runs) if len(runs) >= 12 else None
    if gutter is None:
        return text, False
    sides = [b.x0 >= gutter[1] for b in runs if b.x1 <= gutter[0] or b.x0 >= gutter[1]]
    jumps = sum(1 for a, b in zip(sides, sides[1:]) if a != b)
    return text, jumps >= 6 and jumps >= 0.3 * len(sides)


def _by_columns(path: Path, numbers: list[int]) -> dict[int, str]:
    """The text of these pages read column by column from pdfplumber's word positions; a page
    that cannot be read so keeps pypdf's text."""
    import pdfplumber

    out: dict[int, str] = {}
    try:
        with pdfplumber.open(str(path)) as pdf:
            for n in numbers:
                try:
                    words = pdf.pages[n - 1].extract_words()
                except Exception:
                    continue
                out[n] = reading_order(segments([Box(w["x0"], w["top"], w["x1"], w["bottom"], w["text"]) for w in words]))
    except Exception:  # pdfplumber cannot open what pypdf could: keep pypdf's text
        return out
    return out


SCAN_PIXELS = 500  # an image this many pixels wide and high, or more, on a page without text: a scan


def _has_image(page) -> bool:
    """Whether a page draws a large image (directly or in a form): a scan, if it has no text.
    (Small ones are rules, strips and logos: a blank page holding one is not read by OCR.)"""
    def images(resources, depth: int) -> bool:
        xobjects = resources.get("/XObject") if resources is not None else None
        for ref in (xobjects.get_object().values() if xobjects is not None else []):
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                if int(obj.get("/Width", 0)) >= SCAN_PIXELS and int(obj.get("/Height", 0)) >= SCAN_PIXELS:
                    return True
                continue
            if obj.get("/Subtype") == "/Form" and depth < 3 and images(obj.get("/Resources"), depth + 1):
                return True
        return False

    try:
        return images(page.get("/Resources"), 0)
    except Exception:  # a damaged resource dictionary: not worth a scan's time
        return False


def _content_bytes(page) -> int:
    """Size of a page's (decompressed) content stream; pypdf caps decompression itself."""
    contents = page.get_contents()
    return len(contents.get_data()) if contents is not None else 0


def _no_text_reason(n_read: int, bad: list[int], huge: list[int], error: Exception | None) -> str:
    if bad and len(bad) == n_read:
        return f"damaged PDF: no page's text could be extracted ({type(error).__name__}: {error})"
    if huge and len(huge) + len(bad) == n_read:
        return (f"no text read: every page has more than {MAX_PAGE_CONTENT_BYTES >> 20} MB of page "
                f"content (limit against runaway PDFs)")
    return "no extractable text (scanned PDF without a text layer?)"


def _title(reader, path: Path, first_page_ok: bool = True) -> str:
    try:
        meta = (reader.metadata or {}).get("/Title")
    except Exception:
        meta = None
    meta = str(meta).strip() if meta else ""
    if meta and meta.lower() not in {"untitled", "title"} and not meta.lower().startswith("microsoft"):
        return meta[:200]
    try:
        big = _largest_type(reader.pages[0]) if first_page_ok else None
    except Exception:
        big = None
    return big or name_as_title(path)


def _largest_type(page) -> str | None:
    """The text set in the largest font on a page: on a cover, that is the title."""
    runs: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((abs(size * tm[3] * cm[3]) if tm and cm else size, text))

    page.extract_text(visitor_text=visit)
    if not runs:
        return None
    top = max(size for size, _ in runs)
    title = " ".join(" ".join(t.split()) for size, t in runs if size >= 0.9 * top).strip()
    return title[:200] if len(title) >= 4 else None


def _ranges(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers[:10]) + (" …" if len(numbers) > 10 else "")
