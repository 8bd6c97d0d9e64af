"""What the model and BM25 read of a chunk: its text after its document title and section
(a table's caption), and a table row written as a sentence. Built at ingest by either store,
and read again by the Qdrant store for its word lookups."""
from __future__ import annotations

from index.embedder import token_counter
from ingest.types import Chunk

CONTEXT_TOKENS = 48  # cap on the title/section prefix; 192 + 48 + [CLS]/[SEP] < 256


def embedding_text(chunk: Chunk, context: bool = True) -> str:
    """The text the model (and BM25) sees for a chunk: document title and section (a table's
    caption), then the passage. Many passages never name what they are about ("the
    programme", "the country"); the title does. The stored chunk text stays exactly as in the
    document.
    """
    if not context:
        return chunk.text
    # A Markdown file's first heading is usually its title too: name it once.
    section = chunk.section if chunk.section != chunk.title else None
    prefix = " - ".join(p for p in (chunk.title, section) if p)
    count = token_counter()
    words = prefix.split()
    while words and count(" ".join(words)) > CONTEXT_TOKENS:
        words.pop()
    return f"{' '.join(words)}\n\n{chunk.text}" if words else chunk.text


def row_sentences(chunk: Chunk, context: bool = True) -> list[str]:
    """Each line of a table chunk (a row, or a piece of a long one) as a sentence a person might
    write, led by the chunk's context: "<title> - <caption>. Nurses: 2022 Number: 935; ..."."""
    prefix = embedding_text(chunk, context)[: -len(chunk.text)].strip()
    out = []
    for line, row in zip(chunk.text.split("\n"), chunk.table.rows):
        lead = f"{row[0]} — "  # Table.row_text: the label, then the cells
        if row[0] and line.startswith(lead):
            line = f"{row[0]}: {line[len(lead):]}"
        line = line.replace(" · ", " ")
        out.append(f"{prefix}. {line}" if prefix else line)
    return out
