"""Text clean-up shared by the loaders: Unicode, whitespace, hyphenation, page furniture."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Control characters other than tab and newline, plus bidi overrides/isolates that can
# disguise text (U+202A–U+202E, U+2066–U+2069), zero-width marks and the soft hyphen.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_HYPHEN_BREAK = re.compile(r"(\w+)-\n[ \t]*([a-z]\w*)")
_SENTENCE_END = (".", "!", "?", ":", ";", "”", '"', ")")


def clean(text: str) -> str:
    """NFKC, drop invisible/control characters, collapse spaces, trim each line."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def dehyphenate(text: str, keep: set[str] | frozenset[str] = frozenset()) -> str:
    """Join words split across line ends ('informa-\\ntion' -> 'information').

    A compound in `keep` (lowercase, e.g. 'evidence-informed', seen unbroken elsewhere in
    the document) keeps its hyphen.
    """

    def join(m: re.Match[str]) -> str:
        head, tail = m.group(1), m.group(2)
        if f"{head}-{tail}".lower() in keep:
            return f"{head}-{tail}"
        return head + tail

    return _HYPHEN_BREAK.sub(join, text)


def hyphenated_words(texts: list[str]) -> set[str]:
    """Lowercase hyphenated compounds that occur within a line somewhere in `texts`."""
    words: set[str] = set()
    for text in texts:
        words.update(w.lower() for w in re.findall(r"\w+-\w+", text))
    return words


def _furniture_key(line: str) -> str:
    # Page numbers change from page to page; compare header/footer lines without digits.
    return re.sub(r"\d+", "#", line.strip().lower())


def strip_page_furniture(pages: list[str], edge: int = 3, share: float = 0.4) -> list[str]:
    """Remove header/footer lines repeated on many pages, and bare page numbers.

    Only the first and last `edge` lines of a page are candidates. A line is furniture when
    its digit-blind form appears at a page edge on at least `share` of the pages (and on 3+
    pages): running titles alternate between odd and even pages, so each is on about half.
    """
    split = [[ln for ln in p.split("\n")] for p in pages]
    counts: Counter[str] = Counter()
    for lines in split:
        counts.update({_furniture_key(ln) for ln in lines[:edge] + lines[-edge:] if ln.strip()})
    threshold = max(3, share * len(pages))
    furniture = {key for key, n in counts.items() if n >= threshold}
    out = []
    for lines in split:
        n = len(lines)

        def is_furniture(i: int, line: str) -> bool:
            at_edge = i < edge or i >= n - edge
            key = _furniture_key(line)
            return at_edge and (key in furniture or re.fullmatch(r"#|page #( of #)?", key) is not None)

        out.append("\n".join(ln for i, ln in enumerate(lines) if not is_furniture(i, ln)))
    return out


def unwrap_lines(text: str) -> str:
    """Join the hard-wrapped lines of a PDF page into paragraphs.

    A line break is kept (as a paragraph break) after a line that ends a sentence and is
    clearly shorter than the page's full lines, or around short heading-like lines;
    other line breaks are wrap points and become spaces.
    """
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return ""
    width = max(len(ln) for ln in lines)
    out: list[str] = [lines[0]]
    for prev, line in zip(lines, lines[1:]):
        short = len(prev) < 0.7 * width
        ends_sentence = prev.rstrip().endswith(_SENTENCE_END)
        heading_like = short and not ends_sentence and line[:1].isupper() and len(prev) < 0.5 * width
        if (short and ends_sentence) or heading_like:
            out.append("\n\n" + line)
        else:
            out.append(" " + line)
    return "".join(out)
