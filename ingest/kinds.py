"""What a stretch of document text is: running prose, or a reference list, a table of contents,
figure furniture (captions, source lines, chart axis labels, columns of numbers).

Everything stays searchable; only prose is quoted as an answer. The tests are plain rules
on the text itself, tuned on the bundled corpus (tests/test_kinds.py holds their examples).
"""
from __future__ import annotations

import re

from ingest.lexicon import FUNCTION_WORDS  # the glue of prose: a caption or a row of figures has little

TEXT, REFERENCES, CONTENTS, FIGURE = "text", "references", "contents", "figure"
KINDS = (TEXT, REFERENCES, CONTENTS, FIGURE)


# The labels of a document's furniture: "Figure 3", "Source: ...", "Box 2".
_LABELS = ("Figure", "Table", "Box", "Source", "Sources", "Note", "Notes", "Chart", "Graph")
# Marks of a bibliographic entry: links, DOIs, access dates, "Publisher: Place; year" and the like.
_REFERENCE = re.compile(
    r"https?://|www\.|\bdoi\b|\bdoi\.org|\(accessed|\baccessed \d|\bISBN\b|\bISSN\b|\[(?:website|thesis|"
    r"internet|online)\]|\bAvailable (?:at|from)\b|\bet al\.?[,;]|;\s?\d{4}\s?[;(.]|\d{4};\s?\d+\s?\(|"
    # "Oxford: Oxford University Press;": a place of publication (capitalised words,
    # not a label such as "Source" or "Box"), a colon, then a publisher's name up to ";" or "("
    r"(?-i:(?:^|[.;]\s)(?!(?:" + "|".join(_LABELS) + r"|Fig|Priority|Key|Step|Case)\b)"
    r"[A-Z][a-z][\w'’-]*(?:,?\s(?:[A-Z][\w'’-]*|de|da|do)){0,3}\s?:\s[A-Z][\w'’-]*"
    r"(?:\s(?:[A-Z][\w'’-]*|for|of|and|the|de|on|in|&)){0,10}\s?(?=[;(]))",
    re.I)
# An entry's opening: "12. Smith KA, Jones J", "3 World Health Organization. Title".
_ENTRY_START = re.compile(r"^\[?\d{1,3}[.)\]]?\s+\S")
_AUTHOR = re.compile(r"^(?:\[?\d{1,3}[.)\]]?\s+[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)? [A-Z]{1,3}[,.]|"
                     r"[A-Z][\w'’-]+ [A-Z]{1,3}, [A-Z][\w'’-]+ [A-Z]{1,3}\b)")
# A contents line: a title ending in a page number, maybe after dot leaders.
_CONTENTS_LINE = re.compile(r"^(?:[A-Z0-9][^.!?]{2,140}?)(?:\s?\.{3,}\s?|\s)(?:[ivxlc]+|\d{1,3})$")
_LEADER_DOTS = re.compile(r"\.{4,}|(?:\. ){4,}|…{2,}")
_CONTENTS_RUN = re.compile(r"[a-z]\s(?:[ivxlc]+|\d{1,3})\s(?=\d{1,2}\.\d?|[A-Z])")
_FIGURE_START = re.compile(r"^(?:Fig\.|(?:" + "|".join(_LABELS) + r")\b)\s*"
                           r"(?:\d|[A-Z]\d|:|\.)", re.I)
# A word, or a figure: "100 000" (thousands set apart by a space) is one figure, not two.
_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d])(?:[.,]\d+)?%?|\d[\d.,%/–-]*",
                   re.UNICODE)
# A sentence that only points to another part of the document ("The list of codes can be found
# in the Abbreviations.", "See Annex 2."): a note, not a statement of fact. The part is numbered
# ("Table 2", "section IV") or is one of a document's apparatus (its annex, glossary, ...).
_POINTER = re.compile(r"(?:^see|\b(?:can be found|is found|are found|are listed|is listed|are given|is given|are shown|"
                      r"is shown|are explained|is explained|are defined|is defined))\b[^.(]*\b(?:(?:annex|appendix|table|"
                      r"figure|fig\.|box|section|chapter|page)\s+(?:\d+|[IVX]+\b|[A-Z]\b)|the\s+(?:annex(?:es)?|"
                      r"appendix|appendices|abbreviations|glossary|endnotes|notes))", re.I)
_HEADING_REFERENCES = re.compile(r"^(references|bibliography|notes|endnotes|sources|works cited)\b", re.I)
_HEADING_CONTENTS = re.compile(r"^(contents|table of contents)\b", re.I)
_NOTE_START = re.compile(r"^(?:\[\s?\d{1,3}\s?\]|\d{1,3}\s+(?=[A-Z])|\d{1,3}[a-z]{2,}\b)")
_END = re.compile(r"[.!?…][\"”’')\]]*(?:(?<=[a-z)][.!?])\d{1,2})?$")  # "... Europe.6": a footnote number


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def number_share(tokens: list[str]) -> float:
    return sum(t[0].isdigit() for t in tokens) / max(1, len(tokens))


def function_share(tokens: list[str]) -> float:
    return sum(t.lower() in FUNCTION_WORDS for t in tokens) / max(1, len(tokens))


def looks_like_reference(text: str) -> bool:
    """A bibliography entry (or a run of them)."""
    text = text.strip()
    if _AUTHOR.match(text):
        return True
    marks = len(_REFERENCE.findall(text))
    return marks >= 2 or (marks == 1 and (_ENTRY_START.match(text) is not None or len(text) < 160))


def looks_like_figure(text: str) -> bool:
    """A caption, a source/note line, or chart and table figures without the words of prose."""
    text = text.strip()
    if _FIGURE_START.match(text):
        return True
    tokens = words(text)
    if len(tokens) < 4:
        return False
    numbers, glue = number_share(tokens), function_share(tokens)
    return numbers >= 0.5 or (numbers >= 0.3 and glue < 0.1) or (len(tokens) >= 8 and glue < 0.08)


def paragraph_kind(paragraph: str, heading: str | None = None) -> str:
    """The kind of one paragraph (a line or a blank-line-separated block of text)."""
    text = paragraph.strip()
    if heading and _HEADING_REFERENCES.match(heading.strip()):
        return REFERENCES
    if heading and _HEADING_CONTENTS.match(heading.strip()):
        return CONTENTS
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return TEXT
    if len(lines) >= 3 and sum(_CONTENTS_LINE.match(ln) is not None for ln in lines) >= 0.6 * len(lines):
        return CONTENTS
    if len(_CONTENTS_RUN.findall(text)) >= 3 and number_share(words(text)) < 0.4:  # joined contents lines
        return CONTENTS
    if looks_like_reference(text):
        return REFERENCES
    if looks_like_figure(text):
        return FIGURE
    return TEXT


def paragraph_spans(text: str, heading: str | None = None) -> list[tuple[int, int, str]]:
    """(start, end, kind) for each paragraph of a block's text, in order.

    Paragraphs are separated by blank lines; a heading named "References" (a text file's
    section) makes its whole block a reference list.
    """
    spans = []
    for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text):
        spans.append((m.start(), m.end(), paragraph_kind(m.group(), heading)))
    return _smooth(_contents_runs(text, spans))


def _smooth(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """A short paragraph between two of one other kind shares it: the wrapped second line
    of a reference ("Policy and the Social Sciences, Global Health"), a label in a chart."""
    out = list(spans)
    for i in range(1, len(spans) - 1):
        (_, _, before), (s, e, kind), (_, _, after) = spans[i - 1], spans[i], spans[i + 1]
        if kind == TEXT and before == after != TEXT and e - s < 200:
            out[i] = (s, e, before)
    return out


def _contents_runs(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """A table of contents is a run of short lines that each end in a page number; one such
    line alone is not (a heading can end in a year), three in a row are."""
    is_line = [_CONTENTS_LINE.match(text[s:e].strip()) is not None and "\n" not in text[s:e]
               for s, e, _ in spans]
    out = list(spans)
    i = 0
    while i < len(spans):
        j = i
        while j < len(spans) and is_line[j]:
            j += 1
        if j - i >= 3:
            for n in range(i, j):
                out[n] = (spans[n][0], spans[n][1], CONTENTS)
        i = max(j, i + 1)
    return out


def span_kind(spans: list[tuple[int, int, str]], start: int, end: int) -> str:
    """The kind that covers most of text[start:end] (a chunk), given its block's paragraph spans."""
    cover: dict[str, int] = {}
    for s, e, kind in spans:
        overlap = min(e, end) - max(s, start)
        if overlap > 0:
            cover[kind] = cover.get(kind, 0) + overlap
    return max(cover, key=lambda k: (cover[k], k == TEXT)) if cover else TEXT


def reads_as_prose(sentence: str, item: bool = False) -> bool:
    """A whole sentence of running prose: what an answer may quote.

    It starts like a sentence and ends with a full stop (so a fragment cut by a page or
    chunk edge fails), has the function words of prose, and is neither a bibliography
    entry nor a caption, source line, contents entry or run of figures. A list item
    (`item`) may start in lower case and end with ";" or "," if it is a clause of prose.
    """
    s = sentence.strip()
    if not s or not (s[0].isupper() or s[0].isdigit() or s[0] in "\"“‘'(" or (item and s[0].isalpha())):
        return False
    if _NOTE_START.match(s):  # a footnote's text ("[1] All references to ..."), a numbered note
        return False
    ends = _END.search(s) or (item and s.endswith((";", ",", "; and", "; or")))
    if not ends or s.endswith(("et al.", "e.g.", "i.e.")):
        return False
    tokens = words(s)
    if not 5 <= len(tokens) <= 90:
        return False
    if function_share(tokens) < 0.12 or sum(t.lower() in FUNCTION_WORDS for t in tokens) < 2:
        return False
    if number_share(tokens) > 0.3:
        return False
    if _LEADER_DOTS.search(s):  # a contents line ("Foreword ........ v") run into the text
        return False
    if len(tokens) <= 25 and _POINTER.search(s):  # "The list of codes can be found in the Abbreviations."
        return False
    upper = sum(t.isupper() and len(t) > 1 for t in tokens)
    if upper > 0.5 * len(tokens):  # running titles in capitals, acronym soup
        return False
    return not (looks_like_reference(s) or _FIGURE_START.match(s))
