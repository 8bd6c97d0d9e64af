"""Turn Answers into Markdown for the chat and the sources panel; document text is shown as text."""
from __future__ import annotations

import html
import re

from chatbot.answer import Answer
from index import Hit

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~>])")


def escape(text: str) -> str:
    """Markdown that displays `text` literally: no HTML, links, emphasis or lists from it."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def where(hit: Hit) -> str:
    return f"p. {hit.page}" if hit.page else (hit.section or "")


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer, then the numbered sources it cites (so a copy keeps them)."""
    notes = "".join(f"_{escape(n)}_\n\n" for n in answer.notes)
    if answer.abstained:
        return (f"{notes}{escape(answer.text)} The nearest passages are listed under Sources, "
                f"with low confidence.")
    sources = "  \n".join(f"{escape(f'[{c.number}]')} {escape(c.hit.title)}, {escape(where(c.hit))}"
                           for c in answer.citations)
    return f"{notes}{escape(answer.text)}\n\nSources:  \n{sources}"


def sources_markdown(answer: Answer) -> str:
    """The sources panel: each cited passage with the quoted sentences in bold."""
    if answer.abstained:
        out = ["**No passage answers this question.** Nearest passages (low confidence):", ""]
        for h in answer.hits[:3]:
            out.append(f"- {escape(h.title)}, {escape(where(h))} · similarity {h.similarity or 0:.2f}")
            out.append(f"  > {_quote(h.text, ())}")
        return "\n".join(out)
    out = []
    for c in answer.citations:
        h = c.hit
        out.append(f"**{escape(f'[{c.number}]')} {escape(h.title)}**, {escape(where(h))} · "
                   f"similarity {h.similarity or 0:.2f} · `{h.doc_id}`")
        out.append("")
        out.append("> " + _quote(h.text, c.sentences))
        out.append("")
    return "\n".join(out)


def _quote(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """Escaped passage text with the given character spans in bold, as one blockquote."""
    parts, pos = [], 0
    for s, e in sorted(spans):
        parts.append(escape(text[pos:s]))
        parts.append(f"**{escape(text[s:e])}**")
        pos = e
    parts.append(escape(text[pos:]))
    return "".join(parts).replace("\n", "\n> ")  # every line stays inside the one quote
