"""Cut a Document into overlapping chunks bounded in tokens of the embedding model."""
from __future__ import annotations

import hashlib
from typing import Callable

from ingest.kinds import paragraph_spans, span_kind
from ingest.types import Block, Chunk, Document

# Paragraphs first, then lines, sentences, clauses, words; characters only as a last resort.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
CHUNKER_VERSION = 2  # bump when the chunking logic changes, so old indexes are rebuilt

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
    return chunks


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
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), block=block_number, kind=kind)
