"""Turn Answers into Markdown for the chat and the sources panel; document text is shown as text."""
from __future__ import annotations

import html
import re

from chatbot.answer import Answer
from index import Hit
from ingest.normalize import FOOTNOTE_MARK
from ingest.types import Table

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~>=$])")
_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.M)  # "16. Obas KA ..." would become a numbered list
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
KIND_LABELS = {"references": "reference list", "contents": "table of contents", "figure": "figure or table text",
               "table": "table"}


def escape(text: str) -> str:
    """Markdown that displays `text` literally: no HTML, links, emphasis, lists, headings or math."""
    return _LIST_NUMBER.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)))


def footnotes_as_superscript(text: str) -> str:
    """A document's own footnote marks ("Kosovo[1]") as superscripts, so they never look like
    the answer's citations [1]."""
    return FOOTNOTE_MARK.sub(lambda m: re.sub(r"\D", "", m.group()).translate(_SUPERSCRIPT), text)


def where(hit: Hit, table: Table | None = None) -> str:
    """'p. 12' (the pages of the rows shown, for a table), or the section of a text file."""
    if table is not None and table.pages:
        first, last = min(table.pages), max(table.pages)
        return f"p. {first}" if first == last else f"pp. {first}–{last}"
    return f"p. {hit.page}" if hit.page else (hit.section or "")


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer, then the numbered sources it cites (so a copy keeps them)."""
    notes = "".join(f"_{escape(n)}_\n\n" for n in answer.notes)
    if answer.rewritten:
        notes += f"_Searched as: {escape(answer.search_query)}_\n\n"
    if answer.abstained:
        why = f" {escape(answer.reason)}" if answer.reason else ""
        return (f"{notes}**{escape(answer.text)}**{why} The nearest passages are listed under "
                f"Sources, with low confidence.")
    sources = "  \n".join(f"{escape(f'[{c.number}]')} {escape(c.hit.title)}, {escape(where(c.hit, c.table))}"
                           for c in answer.citations)
    table = next((c for c in answer.citations if c.table is not None), None)
    if table is not None:  # an answer from a table is shown as one
        body = (f"{escape(table.table.caption)} {escape(f'[{table.number}]')}\n\n"
                f"{table_markdown(table.table)}")
        return f"{notes}{body}\n\nSources:  \n{sources}"
    return f"{notes}{escape(answer.text)}\n\nSources:  \n{sources}"


def table_markdown(table: Table, bold: set[int] = frozenset()) -> str:
    """A Markdown table of escaped cells; rows in `bold` (positions) stand out."""
    def cell(text: str, strong: bool) -> str:
        return f"**{escape(text)}**" if strong and text else escape(text)

    head = "| " + " | ".join(escape(h) or " " for h in table.header) + " |"
    rule = "|" + "---|" * len(table.header)
    rows = ["| " + " | ".join(cell(c, i in bold) for c in row) + " |" for i, row in enumerate(table.rows)]
    return "\n".join([head, rule] + rows)


def sources_markdown(answer: Answer) -> str:
    """The sources panel: each cited passage with the quoted sentences in bold."""
    if answer.abstained:
        out = ["**No passage answers this question.** Nearest passages (low confidence):", ""]
        for h in answer.hits[:3]:
            kind = f" · {KIND_LABELS[h.kind]}" if h.kind in KIND_LABELS else ""
            out.append(f"- {escape(h.title)}, {escape(where(h))} · similarity {h.similarity or 0:.2f}{kind}")
            out.append(f"  > {_quote(h.text, ())}")
        return "\n".join(out)
    out = []
    for c in answer.citations:
        h = c.hit
        out.append(f"**{escape(f'[{c.number}]')} {escape(h.title)}**, {escape(where(h, c.table))} · "
                   f"similarity {h.similarity or 0:.2f} · `{h.doc_id}`")
        out.append("")
        if h.table is not None:  # the passage is a table: show it as one, the rows quoted in bold
            labels = {row[0] for row in (c.table.rows if c.table else ())}
            out.append(f"_{escape(h.table.caption)}_")
            out.append("")
            out.append(table_markdown(h.table, {i for i, row in enumerate(h.table.rows) if row[0] in labels}))
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
