"""What the loaders of files without pages (Word, web pages) build as they read: text under
headings, one Block per section, and tables kept as tables."""
from __future__ import annotations

from ingest.sentences import quotable_sentences
from ingest.types import Block, Table


class Sections:
    def __init__(self, as_tables: bool = True) -> None:
        self.as_tables = as_tables
        self._sections: list[tuple[str | None, list[str]]] = [(None, [])]
        self.tables: list[Table] = []
        self.first_heading: str | None = None

    @property
    def heading(self) -> str | None:
        return self._sections[-1][0]

    def start(self, heading: str) -> None:
        """A heading: the text after it is its section's."""
        self.first_heading = self.first_heading or heading
        self._sections.append((heading[:200], []))

    def add(self, paragraph: str) -> None:
        if paragraph:
            self._sections[-1][1].append(paragraph)

    def drop_last(self, paragraph: str) -> None:
        """Take back the last paragraph if it is this one (a caption that turned out to be a table's)."""
        if self._sections[-1][1] and self._sections[-1][1][-1] == paragraph:
            self._sections[-1][1].pop()

    def add_table(self, rows: list[tuple[str, ...]], caption: str | None) -> None:
        """A table: its first row is the header. Read as lines of text when tables are not wanted
        or it has no row under its header."""
        rows = [r for r in rows if any(r)]
        if not rows:
            return
        if not self.as_tables or len(rows) < 2:
            for r in rows:
                self.add(" — ".join(c for c in r if c))
            return
        width = max(len(r) for r in rows)
        header, *body = [r + ("",) * (width - len(r)) for r in rows]
        caption = caption or f"Table in {self.heading or 'the document'}"
        # A table is found again by its caption (a long one is cut into chunks): no two share one.
        taken, base, n = {t.caption for t in self.tables}, caption, 2
        while caption in taken:
            caption, n = f"{base} ({n})", n + 1
        self.tables.append(Table(caption, header, tuple(body), (None,) * len(body)))

    def blocks(self) -> list[Block]:
        out = []
        for heading, paragraphs in self._sections:
            text = "\n\n".join(paragraphs).strip()
            if text:
                out.append(Block(text=text, page=None, section=heading,
                                 sentences=quotable_sentences(text, heading)))
        return out
