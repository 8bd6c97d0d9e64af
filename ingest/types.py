"""Plain data that flows out of ingest: a Document made of Blocks, cut into Chunks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """A run of text with one citation address: a PDF page, or a section of a text file."""

    text: str
    page: int | None  # 1-based physical page of a PDF; None for text files
    section: str | None  # heading the text sits under, if known


@dataclass(frozen=True)
class Document:
    doc_id: str  # stable, from the file name (e.g. "financial-protection-portugal-2025")
    title: str
    source: str  # path of the file it was read from
    blocks: tuple[Block, ...]
    warnings: tuple[str, ...] = ()


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
    block: int = 0  # position of its block in Document.blocks (the index stores the blocks too)
    kind: str = "text"  # text, references, contents or figure (ingest.kinds): only text is quoted

    def citation(self) -> str:
        """Human-readable address of the passage, e.g. 'Title, p. 12'."""
        where = f"p. {self.page}" if self.page else (self.section or "")
        return f"{self.title}, {where}" if where else self.title
