"""Turn Answers into Markdown for the chat and the sources panel; document text is shown as text."""
from __future__ import annotations

import html
import re

from chatbot.answer import Answer
from index import Hit
from ingest.normalize import FOOTNOTE_MARK

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~>=$])")
_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.M)  # "16. Obas KA ..." would become a numbered list
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
KIND_LABELS = {"references": "reference list", "contents": "table of contents", "figure": "figure or table text"}


def escape(text: str) -> str:
    """Markdown that displays `text` literally: no HTML, links, emphasis, lists, headings or math."""
    return _LIST_NUMBER.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)))


def footnotes_as_superscript(text: str) -> str:
    """A document's own footnote marks ("Kosovo[1]") as superscripts, so they never look like
    the answer's citations [1]."""
    return FOOTNOTE_MARK.sub(lambda m: re.sub(r"\D", "", m.group()).translate(_SUPERSCRIPT), text)


def where(hit: Hit) -> str:
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
    sources = "  \n".join(f"{escape(f'[{c.number}]')} {escape(c.hit.title)}, {escape(where(c.hit))}"
                           for c in answer.citations)
    return f"{notes}{escape(answer.text)}\n\nSources:  \n{sources}"


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
        out.append(f"**{escape(f'[{c.number}]')} {escape(h.title)}**, {escape(where(h))} · "
                   f"similarity {h.similarity or 0:.2f} · `{h.doc_id}`")
        out.append("")
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
