"""Plain data that flows out of ingest: a Document made of Blocks, cut into Chunks."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """A run of text with one citation address: a PDF page, or a section of a text file."""

    text: str
    page: int | None  # 1-based physical page of a PDF; None for text files
    section: str | None  # heading the text sits under, if known
    label: str | None = None  # the page number printed on that page ("13", "xii"), if the PDF says
    # Spans in `text` of the sentences an answer may quote (ingest.sentences), in order.
    sentences: tuple[tuple[int, int], ...] = ()
    ocr: bool = False  # read by OCR from a scanned page (no text layer)

    @classmethod
    def from_dict(cls, row: dict) -> "Block":
        """A block from its stored form (dataclasses.asdict, through JSON)."""
        return cls(**{**row, "sentences": tuple(map(tuple, row.get("sentences", ())))})


@dataclass(frozen=True)
class Table:
    """A table as extracted from a PDF: caption, one name per column, rows, each row's page."""

    caption: str  # "Table 1 Progress in human resources for health, 2017–2022"
    header: tuple[str, ...]  # levels joined: "2022 · Number"; the first column labels the rows
    rows: tuple[tuple[str, ...], ...]
    pages: tuple[int | None, ...]  # 1-based physical page of each row (a table may run over pages); None: no pages (Word)

    def row_text(self, i: int) -> str:
        """One row as a line that reads on its own: "Nurses — 2022 · Number: 935; ..."."""
        row = self.rows[i]
        cells = "; ".join(f"{h}: {c}" if h else c for h, c in zip(self.header[1:], row[1:]) if c)
        return f"{row[0]} — {cells}" if row[0] and cells else row[0] or cells

    def part(self, rows: Sequence[int] | None = None, columns: Sequence[int] | None = None) -> Table:
        """The table cut to these rows and columns, in the order given (all, where not given)."""
        rows = range(len(self.rows)) if rows is None else rows
        if columns is None:
            return Table(self.caption, self.header, tuple(self.rows[r] for r in rows), tuple(self.pages[r] for r in rows))
        return Table(self.caption, tuple(self.header[j] for j in columns),
                     tuple(tuple(self.rows[r][j] for j in columns) for r in rows), tuple(self.pages[r] for r in rows))

    @classmethod
    def from_dict(cls, d: dict) -> "Table":
        return cls(d["caption"], tuple(d["header"]), tuple(tuple(r) for r in d["rows"]), tuple(d["pages"]))


@dataclass(frozen=True)
class Document:
    doc_id: str  # stable, from the file name (e.g. "financial-protection-report-2025")
    title: str
    source: str  # path of the file it was read from
    blocks: tuple[Block, ...]
    warnings: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()  # PDF tables, read as tables (their text is not in the blocks)
    page_labels: tuple[str, ...] = ()  # a PDF's printed page numbers, by physical page (from 1)

    def label(self, page: int | None) -> str | None:
        """The printed number of a physical page, if known."""
        return self.page_labels[page - 1] if page and 0 < page <= len(self.page_labels) else None


@dataclass(frozen=True)
class Chunk:
    """A token-bounded passage; `text == block.text[start:end]` for the block it came from."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    page: int | None
    section: str | None
    start: int  # character offsets into the block (page or section) text
    end: int
    hash: str  # sha256 of the text, to skip re-embedding identical passages
    block: int = 0  # position of its block in Document.blocks (the index stores the blocks too); -1: a table
    kind: str = "text"  # text, references, contents, figure or table (ingest.kinds): text and tables are quoted
    table: Table | None = None  # for kind "table": the caption, header and the rows this chunk holds
    page_label: str | None = None  # the number printed on its page, if it differs from `page` or not
    ocr: bool = False  # its text was read by OCR from a scanned page

    @classmethod
    def from_dict(cls, row: dict) -> "Chunk":
        """A chunk from its stored form (dataclasses.asdict, through JSON): the one decoder of
        both stores. Fields it does not know are refused (TypeError), missing ones default."""
        table = row.get("table")
        return cls(**{**row, "table": Table.from_dict(table) if table is not None else None})



def address(page: int | None, label: str | None, section: str | None, ocr: bool = False) -> str:
    """Where a passage is, as a citation says it: its page ('p. 13 (PDF p. 29)'), or the
    section of a file without pages; a page read by OCR says so (its words may be misread)."""
    place = page_ref(page, label) if page else (section or "")
    return f"{place} (scanned page, read by OCR)" if ocr else place


def page_ref(page: int | None, label: str | None = None) -> str:
    """'p. 13 (PDF p. 29)' where the printed number differs from the physical page, else 'p. 29'."""
    if page is None:
        return ""
    if label and label != str(page):
        return f"p. {label} (PDF p. {page})"
    return f"p. {page}"
