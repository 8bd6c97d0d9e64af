"""The file types hpsr-chat reads, one entry each: its suffixes, its loader, how the source viewer
shows it, and its name in the upload control. `hpsr ingest`, the upload control and the viewer
read this registry; a new type is a new entry (and its loader module)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ingest.types import Document

TEXT_MEDIA = "text/plain; charset=utf-8"
MAX_FILE_MB = 50  # a text or Word file larger than this is skipped; an upload larger is refused
MAX_HTML_MB = 5


@dataclass(frozen=True)
class Format:
    name: str  # as the upload control and messages say it: "Word"
    suffixes: tuple[str, ...]  # lowercase, with the dot
    loader: str  # "module:function", imported when a file of this type is read; the function
    #              takes (path, doc_id, tables) and returns a Document or raises IngestError
    view: str  # the source viewer shows "pdf": the page in pdf.js; "file": the file itself as
    #            text; "text": the text as it was indexed (what a Word file or web page says)
    max_mb: int | None = MAX_FILE_MB  # None: bounded by its own limits (a PDF by its pages)

    @property
    def media_type(self) -> str:
        """How the viewer serves a document of this type."""
        return "application/pdf" if self.view == "pdf" else TEXT_MEDIA

    @property
    def label(self) -> str:
        return f"{self.name} ({', '.join(self.suffixes)})"

    def load(self, path: Path, doc_id: str, tables: bool = True) -> "Document":
        module, _, function = self.loader.partition(":")
        read: Callable[..., Document] = getattr(importlib.import_module(module), function)
        return read(path, doc_id, tables)


FORMATS: tuple[Format, ...] = (
    Format("PDF", (".pdf",), "ingest.pdf:load_pdf", view="pdf", max_mb=None),
    Format("Word", (".docx",), "ingest.word:load_docx", view="text"),
    # A saved article is rarely more than 2 MB of HTML; trafilatura takes about 2.5 s and 40 MB
    # a MB of it: a bigger page is skipped before it is parsed.
    Format("web page", (".html", ".htm"), "ingest.web:load_html", view="text", max_mb=MAX_HTML_MB),
    Format("text", (".txt",), "ingest.loaders:load_plain_text", view="file"),
    Format("Markdown", (".md", ".markdown"), "ingest.loaders:load_markdown", view="file"),
)
SUPPORTED: tuple[str, ...] = tuple(s for f in FORMATS for s in f.suffixes)
_BY_SUFFIX = {s: f for f in FORMATS for s in f.suffixes}


def format_of(path: str | Path) -> Format | None:
    """The format of a file, by its suffix (any case); None if hpsr-chat does not read it."""
    return _BY_SUFFIX.get(Path(path).suffix.lower())


def described() -> str:
    """The readable types in words: "PDF (.pdf), Word (.docx), … or Markdown (.md, .markdown)"."""
    labels = [f.label for f in FORMATS]
    return ", ".join(labels[:-1]) + " or " + labels[-1]
