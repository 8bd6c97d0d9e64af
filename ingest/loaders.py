"""Loaders: a file on disk -> Document, or an IngestError that says why not."""
from __future__ import annotations

import codecs
import errno
import fnmatch
import hashlib
import os
import re
from pathlib import Path

from ingest.errors import IngestError
from ingest.formats import MAX_FILE_MB, SUPPORTED, described, format_of
from ingest.normalize import clean, clean_title, dehyphenate, hyphenated_words, strip_page_furniture, unwrap_lines
from ingest.sentences import quotable_sentences
from ingest.types import Block, Document

IGNORE_FILE = ".hpsrignore"  # glob patterns, one per line, for files in a folder not to index
MAX_PDF_PAGES = 2000  # bound time and memory on pathological PDFs; later pages are skipped
MIN_TEXT_CHARS = 20  # a PDF with less text than this on every page has no usable text layer
# A page whose drawing instructions exceed this is skipped: pypdf needs ~2 s and ~15 MB per MB
# of content, and real pages hold well under 1 MB. With the page cap and the time limit below,
# this bounds the time and memory one hostile PDF can take.
MAX_PAGE_CONTENT_BYTES = 4 * 1024 * 1024
MAX_PDF_SECONDS = 120  # a PDF still being read after this is skipped (checked between pages)
# The table pass (pdfplumber) stops after this, within the PDF's own limit; later tables stay prose.
MAX_TABLE_SECONDS = 60


def doc_id_for(path: Path) -> str:
    """A stable id from the file name: lowercase, [a-z0-9-] only."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    return slug or "document"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def discover(paths: list[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders into indexable files; also return (path, reason) skips.

    Folders are walked recursively without following symlinks (no loops); hidden files and
    names matched by a folder's `.hpsrignore` are left out silently.
    """
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            skipped.append((str(path), _link_problem(path) or "no such file or folder"))
        elif path.is_dir():
            for root, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                ignored = _ignore_patterns(Path(root))
                for name in sorted(names):
                    if name.startswith(".") or any(fnmatch.fnmatch(name, p) for p in ignored):
                        continue
                    f = Path(root) / name
                    problem = _link_problem(f)
                    if problem:
                        skipped.append((str(f), problem))
                    elif f.suffix.lower() in SUPPORTED:
                        files.append(f)
                    else:
                        skipped.append((str(f), f"unsupported file type '{f.suffix or name}'"))
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, skipped


def _link_problem(path: Path) -> str | None:
    """Why a symlink cannot be followed ('symlink loop', 'broken symlink'), else None."""
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except OSError as e:
        return "symlink loop" if e.errno == errno.ELOOP else "broken symlink"
    return None


def _ignore_patterns(folder: Path) -> list[str]:
    try:
        text = (folder / IGNORE_FILE).read_text(encoding="utf-8")
    except OSError:
        return []
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def load_document(path: str | Path, doc_id: str | None = None, tables: bool = True) -> Document:
    """Read one file of a type in ingest.formats. Raises IngestError naming the file and reason.

    tables: read tables as tables (Document.tables), not as lines of text.
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt is None:
        raise IngestError(str(path), f"unsupported file type '{path.suffix.lower() or path.name}' "
                                     f"(supported: {described()})")
    try:
        problem = _link_problem(path)
        if problem:
            raise IngestError(str(path), problem)
        size = path.stat().st_size
    except OSError as e:
        raise IngestError(str(path), f"cannot read file ({e.strerror or e})") from e
    if size == 0:
        raise IngestError(str(path), "empty file (0 bytes)")
    if fmt.max_mb is not None and size > fmt.max_mb * 1024 * 1024:
        raise IngestError(str(path), f"larger than {fmt.max_mb} MB ({size / 1024 / 1024:.1f} MB), "
                                     f"the limit for a {fmt.name} file")
    return fmt.load(path, doc_id or doc_id_for(path), tables)


def load_plain_text(path: Path, doc_id: str, tables: bool = True) -> Document:
    """A .txt file: sections under lines that stand alone like headings."""
    return _load_text(path, doc_id, markdown=False)


def load_markdown(path: Path, doc_id: str, tables: bool = True) -> Document:
    """A Markdown file: sections under its # headings."""
    return _load_text(path, doc_id, markdown=True)


def _legacy_byte(e: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: a byte that is not UTF-8 is read as cp1252 (latin-1 if undefined)."""
    bad = e.object[e.start:e.start + 1]
    try:
        return bad.decode("cp1252"), e.start + 1
    except UnicodeDecodeError:
        return bad.decode("latin-1"), e.start + 1


codecs.register_error("hpsr-legacy", _legacy_byte)


def _decode(data: bytes) -> tuple[str, list[str]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as e:
            raise IngestError("", f"UTF-16 text with a bad byte at offset {e.start}") from e
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as e:
        at = e.start
    # Legacy (cp1252) text, or UTF-8 with a few legacy bytes pasted in: decode byte by byte,
    # so the valid UTF-8 stays as it is and only the bad bytes are read as cp1252.
    text = data.decode("utf-8-sig", errors="hpsr-legacy")
    return text, [f"not valid UTF-8 (first bad byte at offset {at}); those bytes decoded as cp1252"]


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _is_plain_heading(lines: list[str], i: int) -> bool:
    """A short line standing alone between blank lines, without closing punctuation."""
    line = lines[i].strip()
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 < len(lines) and not lines[i + 1].strip()
    return (before and after and 0 < len(line) <= 80 and len(line.split()) <= 12
            and not line.endswith((".", ",", ";", ":", "?", "!")))


def _load_text(path: Path, doc_id: str, markdown: bool) -> Document:
    limit = MAX_FILE_MB * 1024 * 1024
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # a file that grew since it was measured is still bounded
    except OSError as e:
        raise IngestError(str(path), f"cannot read file ({e.strerror or e})") from e
    if len(data) > limit:
        raise IngestError(str(path), f"larger than {MAX_FILE_MB} MB, the limit for a text document")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(str(path), "looks like a binary file, not text")
    try:
        raw, warnings = _decode(data)
    except IngestError as e:
        raise IngestError(str(path), e.reason) from e
    text = clean(raw)
    if not text:
        raise IngestError(str(path), "no text (file holds only whitespace)")
    lines = text.split("\n")
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for i, line in enumerate(lines):
        m = _MD_HEADING.match(line) if markdown else None
        if m:
            sections.append((m.group(2).strip(), []))
        elif not markdown and _is_plain_heading(lines, i):
            if i > 0:  # a heading-like first line is the title, not a section
                sections.append((line.strip(), []))
        else:
            sections[-1][1].append(line)
    blocks = []
    for heading, body in sections:
        body_text = "\n".join(body).strip()
        if body_text:
            blocks.append(Block(text=body_text, page=None, section=heading,
                                sentences=quotable_sentences(body_text, heading)))
    if not blocks:
        raise IngestError(str(path), "no text (only headings)")
    first_line = lines[0].lstrip("#").strip()
    title = clean_title(first_line) if 0 < len(first_line) <= 150 else path.stem
    return Document(doc_id=doc_id, title=title, source=str(path), blocks=tuple(blocks),
                    warnings=tuple(warnings))


def pdf_pages_to_blocks(pages: list[str], labels: list[str] | tuple[str, ...] = (),
                        ocr: frozenset[int] = frozenset()) -> list[Block]:
    """Clean raw per-page PDF text into page Blocks (used by the PDF loader); `labels` are the
    printed page numbers, by physical page; `ocr` the pages read by OCR."""
    cleaned = strip_page_furniture([clean(p) for p in pages])
    keep = hyphenated_words(cleaned)
    blocks = []
    for number, text in enumerate(cleaned, start=1):
        text = unwrap_lines(dehyphenate(text, keep))
        if text.strip():
            label = labels[number - 1] if number <= len(labels) else None
            blocks.append(Block(text=text, page=number, section=None, label=label,
                                sentences=quotable_sentences(text), ocr=number in ocr))
    return blocks
