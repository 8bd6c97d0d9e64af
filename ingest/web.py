"""Saved web page (.html, .htm) loader: trafilatura finds the main content (no navigation,
scripts, styles, cookie banners or footers); its headings make sections, its tables stay
tables, links keep their words only. The page is read as text: nothing of its markup is kept,
so nothing in it can reach the chat as HTML. A web page has no pages: a passage cites its section."""
from __future__ import annotations

from pathlib import Path

from ingest.errors import IngestError
from ingest.normalize import clean, clean_title, name_as_title
from ingest.sections import Sections
from ingest.types import Document


def load_html(path: Path, doc_id: str, tables: bool = True) -> Document:
    import trafilatura
    from lxml import etree

    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(str(path), f"cannot read file ({e.strerror or e})") from e
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(str(path), "looks like a binary file, not a web page")
    try:
        xml = trafilatura.extract(data, output_format="xml", include_tables=True, include_links=False,
                                  include_images=False, include_comments=False, with_metadata=True,
                                  favor_recall=True)
    except Exception as e:  # lxml and trafilatura raise many types on broken markup
        raise IngestError(str(path), f"unreadable web page ({type(e).__name__}: {str(e)[:200]})") from e
    if not xml:
        raise IngestError(str(path), "no main text found in the web page")
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    main = root.find("main")
    reader = Sections(tables)
    try:
        for element in (main if main is not None else root):
            _read(element, reader)
    except RecursionError as e:
        raise IngestError(str(path), "web page nested too deeply to read") from e
    blocks = reader.blocks()
    if not blocks and not reader.tables:
        raise IngestError(str(path), "no main text in the web page (only navigation, scripts or boilerplate)")
    title = clean_title(root.get("title") or reader.first_heading or name_as_title(path))
    return Document(doc_id=doc_id, title=title[:200], source=str(path), blocks=tuple(blocks),
                    tables=tuple(reader.tables))


def _text(element, skip: str = "") -> str:
    """An element's words: a line break (<lb/>) is a space; elements named `skip` (a list inside
    a list item) are left out, to be read on their own."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child.tag != skip:
            parts.append(" " if child.tag == "lb" else _text(child, skip))
        parts.append(child.tail or "")
    return " ".join(clean("".join(parts)).split())


def _read(el, out: Sections) -> None:
    if not isinstance(el.tag, str):  # a comment or processing instruction
        return
    if el.tag == "head":
        text = _text(el)
        if text:
            out.start(text)
    elif el.tag == "list":
        for item in el.findall("item"):  # each item once: a list inside it is read after it
            text = _text(item, skip="list")
            out.add(f"• {text}" if text else "")
            for inner in item.findall("list"):
                _read(inner, out)
    elif el.tag == "table":
        rows = [tuple(_text(c) for c in row.iter("cell")) for row in el.iter("row")]
        rows = [r for r in rows if any(r)]
        caption = None
        if len(rows) > 2 and sum(1 for c in rows[0] if c) == 1:  # a caption row: one cell
            caption = next(c for c in rows[0] if c)
            rows = rows[1:]
        out.add_table(rows, caption)
    else:  # p, quote, code, and anything trafilatura adds later: their words
        out.add(_text(el))
