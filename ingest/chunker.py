"""Cut a Document into overlapping chunks bounded in tokens of the embedding model."""
from __future__ import annotations

import hashlib
from typing import Callable

from ingest.kinds import paragraph_spans, span_kind
from ingest.types import Block, Chunk, Document, Table

# Paragraphs first, then lines, sentences, clauses, words; characters only as a last resort.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
CHUNKER_VERSION = 8  # bump when chunking or sentence finding changes, so old indexes are rebuilt

TokenCounter = Callable[[str], int]


def chunk_document(doc: Document, count_tokens: TokenCounter, max_tokens: int = 192,
                   overlap_tokens: int = 32) -> list[Chunk]:
    """Split each block (page or section) into chunks of at most `max_tokens` tokens.

    Chunks never cross a block, so each has exactly one page (or section) to cite.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError(f"overlap_tokens must be in [0, max_tokens), got {overlap_tokens}")
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_tokens, chunk_overlap=overlap_tokens, length_function=count_tokens,
        separators=SEPARATORS, keep_separator="end", strip_whitespace=True)
    chunks: list[Chunk] = []
    for number, block in enumerate(doc.blocks):
        paragraphs = paragraph_spans(block.text, block.section)
        for start, end in _spans(block.text, splitter.split_text(block.text), count_tokens, max_tokens):
            chunks.append(_make_chunk(doc, block, number, len(chunks), start, end,
                                      span_kind(paragraphs, start, end)))
    for table in doc.tables:
        for part in _table_parts(table, count_tokens, max_tokens):
            chunks.append(_table_chunk(doc, part, len(chunks)))
    return chunks


def _table_parts(table: Table, count_tokens: TokenCounter, max_tokens: int) -> list[tuple[Table, str]]:
    """Whole rows, as many as fit in `max_tokens` with the caption (the embedded context), each
    part a Table of its own rows. The text is a line per row that carries the header: "Nurses —
    2022 · Number: 935; ...", so a row reads on its own and each figure sits beside its column's
    name (a grid with the header once ranked worse, measured with `hpsr eval`). A row too long
    for one chunk is cut between its cells, each piece led by the row's label."""
    budget = max_tokens - min(count_tokens(table.caption), max_tokens // 3)
    parts: list[tuple[Table, str]] = []
    rows: list[int] = []
    lines: list[str] = []

    def flush() -> None:
        if rows:
            parts.append((table.part(rows), "\n".join(lines)))
        rows.clear()
        lines.clear()

    for i in range(len(table.rows)):
        line = table.row_text(i)
        if lines and count_tokens("\n".join(lines + [line])) > budget:
            flush()
        if count_tokens(line) <= budget:
            rows.append(i)
            lines.append(line)
            continue
        for piece in _cut_row(line, table.rows[i][0], count_tokens, budget):
            rows.append(i)
            lines.append(piece)
            flush()
    flush()
    return parts


def _cut_row(line: str, label: str, count_tokens: TokenCounter, budget: int) -> list[str]:
    """A row's line cut between cells ("; "), every piece after the first led by the label."""
    pieces: list[str] = []
    current = ""
    for cell in line.split("; "):
        candidate = f"{current}; {cell}" if current else (cell if not pieces else f"{label} — {cell}")
        if current and count_tokens(candidate) > budget:
            pieces.append(current)
            current = f"{label} — {cell}"
        else:
            current = candidate
    pieces.append(current)
    # A single cell longer than the budget is halved at spaces, as prose is.
    out: list[str] = []
    for p in pieces:
        while count_tokens(p) > budget and " " in p:
            words = p.split(" ")
            half = len(words) // 2
            out.append(" ".join(words[:half]))
            p = f"{label} — " + " ".join(words[half:])
        out.append(p)
    return out


def _table_chunk(doc: Document, part: tuple[Table, str], n: int) -> Chunk:
    table, text = part
    return Chunk(
        chunk_id=f"{doc.doc_id}#{n}", doc_id=doc.doc_id, title=doc.title, source=doc.source,
        text=text, page=table.pages[0], section=table.caption, start=0, end=len(text),
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), block=-1, kind="table", table=table,
        page_label=doc.label(table.pages[0]))


def _spans(text: str, pieces: list[str], count_tokens: TokenCounter,
           max_tokens: int) -> list[tuple[int, int]]:
    """Locate each piece in `text` (in order) and enforce the token bound on each."""
    spans: list[tuple[int, int]] = []
    pos = prev_end = 0
    for piece in pieces:
        # The piece the splitter cut starts inside the previous piece (the overlap) or just
        # after it, past whitespace, and reaches beyond it. Take the latest such match: a
        # plain find() would land on an earlier repeat of the same text ("......").
        start = -1
        if prev_end:
            limit = prev_end  # first non-space after the previous piece (no slicing: O(n))
            while limit < len(text) and text[limit].isspace():
                limit += 1
            start = text.rfind(piece, max(pos, prev_end - len(piece) + 1), limit + len(piece))
        if start < 0:
            start = text.find(piece, pos)
        if start < 0:  # cannot happen with keep_separator; be safe rather than misplace offsets
            start = text.find(piece)
            if start < 0:
                continue
        if start + len(piece) <= prev_end:
            continue  # inside the previous piece: the splitter repeated its overlap tail ("00")
        pos, prev_end = start + 1, start + len(piece)
        spans.extend(_bounded(text, start, start + len(piece), count_tokens, max_tokens))
    return spans


def _bounded(text: str, start: int, end: int, count_tokens: TokenCounter,
             max_tokens: int) -> list[tuple[int, int]]:
    """Halve a span at whitespace (or mid-word if it has none) until each part fits.

    The splitter measures pieces separately, and tokens can merge or split at the joins, so
    a merged chunk can overshoot by a token or two; this guarantees the bound.
    """
    if count_tokens(text[start:end]) <= max_tokens or end - start < 2:
        return [(start, end)]
    mid = (start + end) // 2
    cut = text.rfind(" ", start + 1, mid + 1)
    if cut <= start:
        cut = text.find(" ", mid, end - 1)
    if cut <= start:
        cut = mid
    left_end = cut
    right_start = cut + 1 if text[cut] == " " else cut
    return (_bounded(text, start, left_end, count_tokens, max_tokens)
            + _bounded(text, right_start, end, count_tokens, max_tokens))


def _make_chunk(doc: Document, block: Block, block_number: int, n: int, start: int, end: int,
                kind: str) -> Chunk:
    text = block.text[start:end]
    return Chunk(
        chunk_id=f"{doc.doc_id}#{n}", doc_id=doc.doc_id, title=doc.title, source=doc.source,
        text=text, page=block.page, section=block.section, start=start, end=end,
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), block=block_number, kind=kind,
        page_label=block.label, ocr=block.ocr)
