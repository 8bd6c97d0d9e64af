"""Candidate answer sentences: whole sentences of running prose around the retrieved passages.

A sentence cut by a chunk's edge is completed from the page (or section) it sits on, so every
candidate is a verbatim span of the document, cited with its page. Reference lists, contents,
captions, source lines and figures are recognised at ingest (ingest.sentences, ingest.kinds)
and never become candidates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from index import Hit, Index

_ANAPHOR = re.compile(r"^(?:This|These|That|Those|Its|They|Their|Such|Both|He|She|His|Her|"
                     r"The latter|The former|In this way|As a result)\b")


@dataclass(frozen=True)
class Sentence:
    hit: int  # position of the passage in the hits it was found through
    start: int  # character span in the block (page or section) text
    end: int
    text: str
    row: int | None = None  # a table row instead: its position in the passage's table
    # Its stored vector (index.sentences), None if the index has none for it.
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def is_row(self) -> bool:
        return self.row is not None


def candidates(index: Index, hits: list[Hit], depth: int = 5) -> tuple[list[Sentence], dict[int, tuple[str, int, int]]]:
    """Prose sentences that overlap the first `depth` passages, and every row of the tables
    those passages are part of, each once, in hit order, with their stored vectors; and each
    prose passage's (block text, start, end) so citations can quote whole sentences. A table
    passage in `hits` is replaced by one holding its whole table, so a row can be cited from
    the passage that found it."""
    out: list[Sentence] = []
    contexts: dict[int, tuple[str, int, int]] = {}
    seen: set = set()  # sentences already taken, by place and by text (a summary repeats the body)
    for h_i, hit in enumerate(hits[:depth]):
        if hit.table is not None:
            if (hit.doc_id, hit.section) in seen:
                continue
            seen.add((hit.doc_id, hit.section))
            whole = index.table(hit)
            hits[h_i] = replace(hit, table=whole)
            out += [Sentence(h_i, 0, 0, whole.row_text(r), row=r, vector=v)
                    for r, v in enumerate(index.row_vectors(hit))]
            continue
        block, cs, ce = index.passage(hit)
        text = block.text
        contexts[h_i] = (text, cs, ce)
        spans = block.sentences  # the quotable ones, found at ingest (ingest.sentences)
        for i, (s, e) in enumerate(spans):
            flat = " ".join(text[s:e].split())
            key = (hit.doc_id, hit.page, hit.section, s)
            if e <= cs or s >= ce or key in seen or flat in seen:
                continue
            seen.update([key, flat])
            vector = index.sentence_vector(hit, s, e)
            # "This is achieved through ...": the sentence before says what "this" is; quote both.
            if _ANAPHOR.match(text[s:e]) and i > 0 and not text[spans[i - 1][1]:s].strip():
                before = index.sentence_vector(hit, *spans[i - 1])
                s = spans[i - 1][0]
                if vector is not None and before is not None:
                    vector = before + vector
                    vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
            out.append(Sentence(h_i, s, e, text[s:e], vector=vector))
    return out, contexts
