"""Sentences of a block's text, and which of them an answer may quote.

Found once, at ingest: each Block records the spans of its quotable sentences (whole sentences
of running prose), so answering needs no splitting and the index can hold a vector for each.
"""
from __future__ import annotations

import re

from ingest.kinds import TEXT, paragraph_spans, reads_as_prose

# A sentence ends at . ! ? (maybe after a quote, a bracket or a footnote number glued to it:
# "Europe.6 Each") before a capital, or at a line break.
_BOUNDARY = re.compile(r"[.!?][\"”’)]?(?:(?<=[a-z)][.!?])\d{1,2})?\s+(?=[\"“(\[•]?[A-Z0-9€£$])|\n+|\s+(?=•\s)|\s+(?=\[\d{1,3}\]\s+[A-Z])")
_CONTINUES = re.compile(r"[^.!?:;\"”’)\]]$")  # a paragraph cut mid-sentence ends without these
# Whole words only: "platforms." or "hospital." ends a sentence although "ms." and "al." don't.
_ABBREVIATION = re.compile(r"(?<![^\W\d_])(?:fig|e\.g|i\.e|no|al|vol|p|pp|dr|mr|ms|st|vs|approx|incl|ref|eq|tab|art"
                           r"|para)\.$", re.I)
_BULLET = re.compile(r"^[•▪●◦‣∙·*–-]\s+")


def is_item(text: str, start: int) -> bool:
    """Does the sentence at `start` follow a bullet ("• over 180 projects were funded;")?"""
    before = text[max(0, start - 3):start].strip()
    return before.endswith(("•", "▪", "●", "◦", "‣", "∙"))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (or stand-alone lines) of a text."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if m.group().strip() and _ABBREVIATION.search(text, max(0, m.start() - 8), m.start() + 1):
            continue  # "Fig. 2", "e.g. the", "et al. 2020": not the end of a sentence
        if (not m.group().strip() and m.start() - start > 80 and _CONTINUES.search(text[:m.start()])
                and m.end() < len(text) and text[m.end()].isalpha()):
            continue  # a long line that stops mid-sentence goes on after the break (a bad unwrap)
        spans.append((start, m.start() + len(m.group().rstrip())))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        bullet = _BULLET.match(text[s:e])
        if bullet:  # a list item is quoted without its bullet
            s += bullet.end()
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 12:
            out.append((s, e))
    return out


def quotable_sentences(text: str, section: str | None = None) -> tuple[tuple[int, int], ...]:
    """Spans of the sentences an answer may quote: whole sentences of running prose, in a
    paragraph of running text (not a reference list, contents or figure text)."""
    paragraphs = paragraph_spans(text, section)
    out = []
    for s, e in sentence_spans(text):
        kind = next((k for ps, pe, k in paragraphs if ps <= s < pe), TEXT)
        if kind == TEXT and reads_as_prose(text[s:e], item=is_item(text, s)):
            out.append((s, e))
    return tuple(out)
