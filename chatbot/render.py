"""Turn Answers into Markdown for the chat and the sources panel; document text is shown as text."""
from __future__ import annotations

import html
import re
from dataclasses import asdict

from chatbot.answer import Answer
from chatbot.viewer import file_url, viewer_url
from index import Hit
from ingest.normalize import FOOTNOTE_MARK
from ingest.types import Table, address

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~>=$])")
_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.M)  # "16. Smith KA ..." would become a numbered list
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
KIND_LABELS = {"references": "reference list", "contents": "table of contents", "figure": "figure or table text",
               "table": "table"}


def escape(text: str) -> str:
    """Markdown that displays `text` literally: no HTML, links, emphasis, lists, headings or math."""
    return _LIST_NUMBER.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)))


def footnotes_as_superscript(text: str) -> str:
    """A document's own footnote marks ("Atlantis[1]") as superscripts, so they never look like
    the answer's citations [1]."""
    return FOOTNOTE_MARK.sub(lambda m: re.sub(r"\D", "", m.group()).translate(_SUPERSCRIPT), text)


def where(hit: Hit, table: Table | None = None) -> str:
    """'p. 13 (PDF p. 29)' (the printed number, and the physical page where they differ), or the
    section of a file without pages. A table's rows shown over several pages: 'PDF pp. 25–26'.
    A page read by OCR says so: its words may be misread."""
    pages = [p for p in table.pages if p is not None] if table is not None else []
    if pages and min(pages) != max(pages):
        return f"PDF pp. {min(pages)}–{max(pages)}"
    return address(hit.page, hit.page_label, hit.section, hit.ocr)


def quoted(c) -> list[str]:
    """What a citation quotes, as the document words it (for the viewer's highlight): the
    sentences, or the cells of the table rows on the cited page (the viewer shows that page)."""
    if c.table is not None:
        pages = c.table.pages or [c.hit.page] * len(c.table.rows)
        return [cell for row, page in zip(c.table.rows, pages) if page == c.hit.page for cell in row if cell]
    return [c.passage[s:e] for s, e in c.sentences]


def answer_json(ans: Answer, local: bool = False) -> dict:
    """The answer as plain data, for programs (the Gradio API, `hpsr ask --json`).

    Documents are named by their index id and reached through the viewer's URL; where a file
    lies on the server stays on the server. `local` (the command line, on the machine that holds
    the files) adds each one's path and a file:// URL at the page.
    """
    def hit(h) -> dict:
        out = asdict(h)
        return {**out, "file_url": file_url(h)} if local else {k: v for k, v in out.items() if k != "source"}

    return {
        "answer": ans.text, "abstained": ans.abstained, "reason": ans.reason,
        "searched_as": ans.search_query, "confidence": round(ans.confidence, 4),
        "notes": list(ans.notes),
        "citations": [{"number": c.number, **hit(c.hit), "where": where(c.hit, c.table), "passage": c.passage,
                       "quoted": quoted(c),
                       "shown_table": asdict(c.table) if c.table else None,
                       "viewer_url": viewer_url(c.hit, quoted(c))}
                      for c in ans.citations],
        # An answer from a table: its caption, header (one name per column) and the rows shown.
        "table": next((asdict(c.table) for c in ans.citations if c.table), None),
        "passages": [{**hit(h), "where": where(h), "viewer_url": viewer_url(h, [])} for h in ans.hits],
    }


def _link(text: str, url: str) -> str:
    return f"[{text}]({url})"


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer, each [n] opening its source at the page, then the numbered
    sources it cites (so a copy keeps them)."""
    notes = "".join(f"_{escape(n)}_\n\n" for n in answer.notes)
    if answer.rewritten:
        notes += f"_Searched as: {escape(answer.search_query)}_\n\n"
    if answer.abstained:
        why = f" {escape(answer.reason)}" if answer.reason else ""
        return (f"{notes}**{escape(answer.text)}**{why} The nearest passages are listed under "
                f"Sources, with low confidence.")
    urls = {c.number: viewer_url(c.hit, quoted(c)) for c in answer.citations}
    sources = "  \n".join(f"{_link(escape(f'[{c.number}]'), urls[c.number])} {escape(c.hit.title)}, "
                           f"{escape(where(c.hit, c.table))}" for c in answer.citations)
    table = next((c for c in answer.citations if c.table is not None), None)
    if table is not None:  # an answer from a table is shown as one
        body = (f"{escape(table.table.caption)} {_link(escape(f'[{table.number}]'), urls[table.number])}\n\n"
                f"{table_markdown(table.table)}")
        return f"{notes}{body}\n\nSources:  \n{sources}"
    text = re.sub(r"\\\[(\d+)\\\]", lambda m: _link(m.group(0), urls.get(int(m.group(1)), "")), escape(answer.text))
    return f"{notes}{text}\n\nSources:  \n{sources}"


def table_markdown(table: Table, bold: set[int] = frozenset()) -> str:
    """A Markdown table of escaped cells; rows in `bold` (positions) stand out."""
    def cell(text: str, strong: bool) -> str:
        return f"**{escape(text)}**" if strong and text else escape(text)

    head = "| " + " | ".join(escape(h) or " " for h in table.header) + " |"
    rule = "|" + "---|" * len(table.header)
    rows = ["| " + " | ".join(cell(c, i in bold) for c in row) + " |" for i, row in enumerate(table.rows)]
    return "\n".join([head, rule] + rows)


def _columns(table: Table, shown: Table | None) -> Table:
    """The passage's table with only the columns the answer shows (the row labels, and those it
    asked for): a table of thirteen columns does not fit beside the chat."""
    if shown is None:
        return table
    keep = [j for j, name in enumerate(table.header) if j == 0 or name in shown.header[1:]]
    if len(keep) == 1:  # no column of the answer is the passage's: show it whole
        return table
    return table.part(columns=keep)


def sources_markdown(answer: Answer) -> str:
    """The sources panel: each cited passage with the quoted sentences in bold."""
    if answer.abstained:
        out = ["**No passage answers this question.** Nearest passages (low confidence):", ""]
        for h in answer.hits[:3]:
            kind = f" · {KIND_LABELS[h.kind]}" if h.kind in KIND_LABELS else ""
            out.append(f"- {escape(h.title)}, {escape(where(h))} · similarity {h.similarity or 0:.2f}{kind} · "
                       f"{_link('open at the page ↗', viewer_url(h, [h.text[:300]] if h.table is None else []))}")
            out.append(f"  > {_quote(h.text, ())}")
        return "\n".join(out)
    out = []
    for c in answer.citations:
        h = c.hit
        out.append(f"**{escape(f'[{c.number}]')} {escape(h.title)}**, {escape(where(h, c.table))} · "
                   f"similarity {h.similarity or 0:.2f} · `{h.doc_id}` · "
                   f"{_link('open at the page ↗', viewer_url(h, quoted(c)))}")
        out.append("")
        if h.table is not None:  # the passage is a table: show it as one, the rows quoted in bold
            labels = {row[0] for row in (c.table.rows if c.table else ())}
            out.append(f"_{escape(h.table.caption)}_")
            out.append("")
            out.append(table_markdown(_columns(h.table, c.table),
                                      {i for i, row in enumerate(h.table.rows) if row[0] in labels}))
        else:
            out.append("> " + _quote(c.passage or h.text, c.sentences))
        out.append("")
    return "\n".join(out)


def _quote(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """Escaped passage text with the given character spans in bold, as one blockquote."""
    parts, pos = [], 0
    for s, e in sorted(spans):
        parts.append(_show(text[pos:s]))
        parts.append(f"**{_show(text[s:e])}**")
        pos = e
    parts.append(_show(text[pos:]))
    return "".join(parts).replace("\n", "\n> ")  # every line stays inside the one quote


def _show(text: str) -> str:
    return escape(footnotes_as_superscript(text))
