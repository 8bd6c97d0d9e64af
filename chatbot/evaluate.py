"""Answer-level evaluation: run each question of a set through `answer()` and score what a
reader sees: is the fact in the answer, is the cited page right, is every sentence quoted
verbatim from the passage it cites, and does it abstain exactly when it should."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chatbot.answer import Answer, answer
from chatbot.table_answer import is_from, lines
from index import Index
from index.evaluate import load_questions, normalize
from ingest.kinds import TEXT, paragraph_kind
from ingest.normalize import FOOTNOTE_MARK

_SEGMENT = re.compile(r"(.+?)\s\[(\d+)\](?=\s|$)", re.S)


def segments(text: str) -> list[tuple[str, int]]:
    """'Sentence one. [1] Sentence two. [2]' -> [('Sentence one.', 1), ('Sentence two.', 2)]."""
    return [(m.group(1).strip(), int(m.group(2))) for m in _SEGMENT.finditer(text)]


def _plain(text: str) -> str:
    return normalize(FOOTNOTE_MARK.sub("", text))


def is_verbatim(ans: Answer) -> bool:
    """Every answer sentence occurs in the passage its [n] cites (footnote marks aside), and
    nothing in the answer text stands outside a cited sentence. An answer from a table: every
    cell shown is the extracted table's cell in that row and column, and the text is those rows."""
    parts = segments(ans.text)
    rebuilt = " ".join(f"{s} [{n}]" for s, n in parts)
    if not parts or normalize(rebuilt) != normalize(ans.text):
        return False
    tables = {c.number: c for c in ans.citations if getattr(c, "table", None) is not None}
    if tables:
        return all(is_from(c.table, c.hit.table) for c in tables.values()) and \
            [s for s, _ in parts] == [line for c in tables.values() for line in lines(c.table)]
    cited = {c.number: _plain(getattr(c, "passage", None) or c.hit.text) for c in ans.citations}
    return all(n in cited and _plain(s) in cited[n] for s, n in parts)


@dataclass
class Outcome:
    question: dict
    answer: Answer
    seconds: float

    @property
    def expect_abstain(self) -> bool:
        return bool(self.question.get("expect_abstain"))

    @property
    def fact_found(self) -> bool:
        text = normalize(self.answer.text)  # a table answer's text holds its rows' cells
        return not self.answer.abstained and any(normalize(e) in text for e in self.question.get("expect", []))

    @property
    def fact_considered(self) -> bool:
        """The fact was in a candidate sentence the answer was chosen from (a miss otherwise
        lies with retrieval, not with the choice of sentences or the decision to answer)."""
        return any(normalize(e) in normalize(t) for e in self.question.get("expect", []) for t in self.answer.considered)

    @property
    def page_right(self) -> bool:
        """A citation names the expected document (and page, for a PDF)."""
        q = self.question
        return not self.answer.abstained and any(
            c.hit.doc_id == q.get("doc") and (q.get("page") is None or c.hit.page == q["page"]
                                              or (c.table is not None and q["page"] in c.table.pages))
            for c in self.answer.citations)

    @property
    def non_prose(self) -> list[str]:
        """Answer sentences that read as a reference entry, a contents line or figure text."""
        if self.answer.abstained:
            return []
        if any(getattr(c, "table", None) is not None for c in self.answer.citations):
            return []  # an answer from a table is cells of the table, not sentences
        return [s for s, _ in segments(self.answer.text) if paragraph_kind(s) != TEXT]


@dataclass
class SetResult:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)

    def _share(self, rows: list[Outcome], test) -> float | None:
        return round(sum(1 for r in rows if test(r)) / len(rows), 3) if rows else None

    def row(self) -> dict:
        """The figures of `hpsr eval --answers` for this set."""
        answerable = [o for o in self.outcomes if not o.expect_abstain]
        refuse = [o for o in self.outcomes if o.expect_abstain]
        answered = [o for o in self.outcomes if not o.answer.abstained]
        ms = np.array([o.seconds * 1000 for o in self.outcomes])
        return {
            "set": self.name, "questions": len(self.outcomes),
            "answered": self._share(self.outcomes, lambda o: not o.answer.abstained),
            "fact_in_answer": self._share(answerable, lambda o: o.fact_found),
            "page_right": self._share(answerable, lambda o: o.page_right),
            "verbatim": self._share(answered, lambda o: is_verbatim(o.answer)),
            "non_prose_sentences": sum(len(o.non_prose) for o in answered),
            "abstain_right": self._share(refuse, lambda o: o.answer.abstained),
            "false_abstain": self._share(answerable, lambda o: o.answer.abstained),
            "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
            "p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
            "misses": [o.question.get("id") for o in answerable if not o.fact_found],
            # of those, the ones whose fact no candidate sentence held: retrieval's misses
            "misses_not_retrieved": [o.question.get("id") for o in answerable
                                     if not o.fact_found and not o.fact_considered],
            "wrong_answers": [o.question.get("id") for o in refuse if not o.answer.abstained],
        }


def run_set(idx: Index, path: str | Path, **answer_options) -> SetResult:
    """Answer every question of one JSONL set (a `previous` field makes it a follow-up)."""
    path = Path(path)
    result = SetResult(f"{path.parent.name}/{path.stem}")
    for q in load_questions(path):
        previous = None
        if q.get("previous"):  # the chat keeps the previous turn as it was answered
            previous = answer(idx, q["previous"], **answer_options).search_query or q["previous"]
        idx.embedder.clear_cache()  # time each question as one never asked before
        t0 = time.perf_counter()
        a = answer(idx, q["question"], previous=previous, **answer_options)
        result.outcomes.append(Outcome(q, a, time.perf_counter() - t0))
    return result


COLUMNS = [("set", "{:18}"), ("questions", "{:>4}"), ("answered", "{:>8}"), ("fact_in_answer", "{:>6}"),
           ("page_right", "{:>6}"), ("verbatim", "{:>8}"), ("non_prose_sentences", "{:>9}"),
           ("abstain_right", "{:>8}"), ("false_abstain", "{:>8}"), ("p50_ms", "{:>6}"), ("p95_ms", "{:>6}")]
HEADERS = ["set", "n", "answered", "fact", "page", "verbatim", "non-prose", "abstain", "false-ab", "p50ms", "p95ms"]


def table(rows: list[dict]) -> str:
    """The rows as an aligned text table ('-' where a figure does not apply to the set)."""
    out = [" ".join(fmt.replace(">", "<" if i == 0 else ">").format(h)
                    for i, ((_, fmt), h) in enumerate(zip(COLUMNS, HEADERS)))]
    for r in rows:
        cells = []
        for key, fmt in COLUMNS:
            v = r.get(key)
            cells.append(fmt.format("-" if v is None else (f"{v:.2f}" if isinstance(v, float) and key not in ("p50_ms", "p95_ms") else v)))
        out.append(" ".join(cells))
    return "\n".join(out)
