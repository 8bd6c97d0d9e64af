"""Candidate answer sentences: whole sentences of running prose around the retrieved passages.

A sentence cut by a chunk's edge is completed from the page (or section) it sits on, so every
candidate is a verbatim span of the document, cited with its page. Reference lists, contents,
captions, source lines and figures are recognised (ingest.kinds) and never become candidates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index import Hit, Index
from ingest.kinds import TEXT, paragraph_spans, reads_as_prose

# A sentence ends at . ! ? (maybe after a quote, a bracket or a footnote number glued to it:
# "Europe.6 Each") before a capital, or at a line break.
_BOUNDARY = re.compile(r"[.!?][\"”’)]?(?:(?<=[a-z)][.!?])\d{1,2})?\s+(?=[\"“(\[•]?[A-Z0-9€£$])|\n+|\s+(?=•\s)|\s+(?=\[\d{1,3}\]\s+[A-Z])")
_CONTINUES = re.compile(r"[^.!?:;\"”’)\]]$")  # a paragraph cut mid-sentence ends without these
_ABBREVIATIONS = ("fig.", "e.g.", "i.e.", "no.", "al.", "vol.", "p.", "pp.", "dr.", "mr.", "ms.",
                  "st.", "vs.", "approx.", "incl.", "ref.", "eq.", "tab.", "art.", "para.")
_ANAPHOR = re.compile(r"^(?:This|These|That|Those|Its|They|Their|Such|Both|He|She|His|Her|"
                     r"The latter|The former|In this way|As a result)\b")
_BULLET = re.compile(r"^[•▪●◦‣∙·*–-]\s+")


def is_item(text: str, start: int) -> bool:
    """Does the sentence at `start` follow a bullet ("• over 180 projects were funded;")?"""
    before = text[max(0, start - 3):start].strip()
    return before.endswith(("•", "▪", "●", "◦", "‣", "∙"))


@dataclass(frozen=True)
class Sentence:
    hit: int  # position of the passage in the hits it was found through
    start: int  # character span in the block (page or section) text
    end: int
    text: str
    row: int | None = None  # a table row instead: its position in the passage's table

    @property
    def is_row(self) -> bool:
        return self.row is not None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (or stand-alone lines) of a text."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if m.group().strip() and text[:m.start() + 1].lower().endswith(_ABBREVIATIONS):
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


def candidates(index: Index, hits: list[Hit], depth: int = 5) -> tuple[list[Sentence], dict[int, tuple[str, int, int]]]:
    """Prose sentences that overlap the first `depth` passages, and every row of the tables
    those passages are part of, each once, in hit order; and each prose passage's (block text,
    start, end) so citations can quote whole sentences. A table passage in `hits` is replaced
    by one holding its whole table, so a row can be cited from the passage that found it."""
    out: list[Sentence] = []
    contexts: dict[int, tuple[str, int, int]] = {}
    seen: set = set()  # sentences already taken, by place and by text (a summary repeats the body)
    cache: dict[tuple, tuple[list, list]] = {}
    for h_i, hit in enumerate(hits[:depth]):
        if hit.table is not None:
            if (hit.doc_id, hit.section) in seen:
                continue
            seen.add((hit.doc_id, hit.section))
            whole = index.table(hit)
            hits[h_i] = replace(hit, table=whole)
            out += [Sentence(h_i, 0, 0, whole.row_text(r), row=r) for r in range(len(whole.rows))]
            continue
        block, cs, ce = index.context(hit)
        contexts[h_i] = (block, cs, ce)
        key = (hit.doc_id, hit.page, hit.section, len(block), hash(block))
        if key not in cache:
            cache[key] = (sentence_spans(block), paragraph_spans(block, hit.section))
        spans, paragraphs = cache[key]
        prose = [next((k for ps, pe, k in paragraphs if ps <= s < pe), TEXT) == TEXT
                 and reads_as_prose(block[s:e], item=is_item(block, s)) for s, e in spans]
        for i, (s, e) in enumerate(spans):
            text = " ".join(block[s:e].split())
            if e <= cs or s >= ce or (key, s) in seen or text in seen or not prose[i]:
                continue
            seen.update([(key, s), text])
            # "This is achieved through ...": the sentence before says what "this" is; quote both.
            if _ANAPHOR.match(block[s:e]) and i > 0 and prose[i - 1] and not block[spans[i - 1][1]:s].strip():
                s = spans[i - 1][0]
            out.append(Sentence(h_i, s, e, block[s:e]))
    return out, contexts
