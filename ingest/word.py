"""Word (.docx) loader (python-docx): headings make sections, paragraphs and list items their
text, tables stay tables. Footnotes, endnotes, comments and deleted text live in other parts of
the file or other elements and are never read. A .docx has no pages: a passage cites its
section (the heading it sits under)."""
from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from ingest.errors import IngestError
from ingest.normalize import clean, clean_title, name_as_title
from ingest.sections import Sections
from ingest.types import Document

# A .docx is a zip of XML parts. Checked before anything is unpacked: a zip bomb or a file of
# thousands of parts is refused by its directory alone.
MAX_UNZIPPED_MB = 200
MAX_PARTS = 5000
_CAPTION = re.compile(r"^(Table|Tableau|Tabla)\s+[\w.-]+", re.IGNORECASE)


def load_docx(path: Path, doc_id: str, tables: bool = True) -> Document:
    _check_zip(path)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
        body = document.element.body
    except PackageNotFoundError as e:
        raise IngestError(str(path), "not a Word document (no word/document.xml in the file)") from e
    except Exception as e:  # lxml and python-docx raise many types on damaged files
        raise IngestError(str(path), f"damaged Word document ({type(e).__name__}: {str(e)[:200]})") from e
    reader = _Reader(document, tables)
    try:
        reader.read(body)
    except RecursionError as e:
        raise IngestError(str(path), "damaged Word document (elements nested too deeply)") from e
    except Exception as e:  # a malformed attribute or element python-docx cannot read
        raise IngestError(str(path), f"damaged Word document ({type(e).__name__}: {str(e)[:200]})") from e
    blocks = reader.out.blocks()
    if not blocks and not reader.out.tables:
        raise IngestError(str(path), "no text in the Word document")
    title = _title(document, reader.out.first_heading, path)
    return Document(doc_id=doc_id, title=title, source=str(path), blocks=tuple(blocks),
                    tables=tuple(reader.out.tables))


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise IngestError(str(path), f"damaged Word document (not a readable zip file: {e})") from e
    if len(parts) > MAX_PARTS:
        raise IngestError(str(path), f"Word document of {len(parts)} parts; the limit is {MAX_PARTS}")
    unpacked = sum(p.file_size for p in parts)
    if unpacked > MAX_UNZIPPED_MB * 1024 * 1024:
        raise IngestError(str(path), f"Word document that unpacks to {unpacked / 1024 / 1024:.0f} MB; "
                                     f"the limit is {MAX_UNZIPPED_MB} MB")
    # Word never writes a DTD; one in a part is there to declare entities (an "XML bomb").
    # Every part is read through (bounded by the size checked above), whatever its name.
    try:
        with zipfile.ZipFile(path) as z:
            for part in parts:
                with z.open(part) as f:
                    tail = b""
                    while block := f.read(1 << 20):
                        if b"<!DOCTYPE" in tail + block or b"<!ENTITY" in tail + block:
                            raise IngestError(str(path), f"Word document whose {part.filename} declares a "
                                                         f"DTD or entities (not written by Word; refused)")
                        tail = block[-16:]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as e:
        raise IngestError(str(path), f"damaged Word document (a part cannot be unpacked: {e})") from e


class _Reader:
    """Walks the body in order: text under headings, and the tables."""

    def __init__(self, document, tables: bool) -> None:
        self.document = document
        self.out = Sections(tables)
        self.caption: str | None = None  # a "Table 2 …" paragraph waiting for its table

    def read(self, element) -> None:
        from docx.table import Table as DocxTable
        from docx.text.paragraph import Paragraph

        for child in element.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
            if tag == "p":
                self.paragraph(Paragraph(child, self.document))
            elif tag == "tbl":
                self.table(DocxTable(child, self.document))
            elif tag in ("sdt", "sdtContent", "customXml", "ins", "smartTag"):  # containers of paragraphs
                self.read(child)

    def paragraph(self, p) -> None:
        text = " ".join(clean(_paragraph_text(p._p)).split())
        if not text:
            return
        style = _style_name(p)
        if style == "title" or style.startswith("heading"):
            self.out.start(text)
            self.caption = None
            return
        # A caption names the table right after it; any other paragraph between them ends that.
        is_caption = style == "caption" or (_CAPTION.match(text) is not None and len(text) <= 120
                                            and not text.rstrip().endswith("."))
        self.caption = text if is_caption else None
        is_item = style.startswith("list") or (p._p.pPr is not None and p._p.pPr.numPr is not None)
        self.out.add(f"• {text}" if is_item else text)

    def table(self, t) -> None:
        rows = []
        for row in t.rows:
            cells, seen = [], set()
            for cell in row.cells:
                if id(cell._tc) in seen:  # a merged cell is returned once per grid column
                    continue
                seen.add(id(cell._tc))
                cells.append(" ".join(clean(cell.text).split()))
            rows.append(tuple(cells))
        before = len(self.out.tables)
        self.out.add_table(rows, self.caption)
        if self.caption and len(self.out.tables) > before:
            self.out.drop_last(self.caption)  # the caption is the table's, not a sentence of the text
        self.caption = None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _paragraph_text(p) -> str:
    """A paragraph's visible text: its runs', with those of hyperlinks, fields and tracked
    insertions (python-docx's `text` leaves out runs inside <w:ins>). Deleted text (w:delText),
    field codes (w:instrText) and footnote or comment references hold no w:t and are left out."""
    out = []
    for el in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
        if el.tag == f"{_W}t":
            out.append(el.text or "")
        else:
            out.append(" ")
    return "".join(out)


def _style_name(p) -> str:
    try:
        return (p.style.name or "").lower() if p.style is not None else ""
    except (KeyError, ValueError, AttributeError):  # a style the file names but does not define
        return ""


def _title(document, first_heading: str | None, path: Path) -> str:
    try:
        title = (document.core_properties.title or "").strip()
    except Exception:
        title = ""
    return clean_title(title or first_heading or name_as_title(path))[:200]
