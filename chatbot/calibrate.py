"""Choose the abstention thresholds on question sets with answerable and out-of-scope questions.

Each question is answered once with every threshold off, keeping the signals the decision
rests on (chatbot.answerable). Then every combination on a grid is scored offline: the most
out-of-scope questions refused while at most `max_false` of the answerable ones are, and, among
the best, the most lenient combination: refusing is the costlier mistake on questions it has
not seen (the best regions are often far apart, so a "middle" would be arbitrary).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatbot.answer import answer
from chatbot.answerable import Thresholds, decide
from index import Index
from index.evaluate import load_questions

GRID = {
    "similarity": np.round(np.arange(0.20, 0.52, 0.02), 2),
    "sentence_similarity": np.round(np.arange(0.30, 0.66, 0.02), 2),
    "coverage": np.round(np.arange(0.0, 0.42, 0.04), 2),
    "absent_share": np.round(np.arange(0.5, 1.01, 0.05), 2),  # 1.0: only when no word is in any document
}
SLACK = 1  # out-of-scope refusals a laxer grid point may give up (see choose)
SETTING = {"similarity": "HPSR_ABSTAIN_SIMILARITY", "sentence_similarity": "HPSR_ABSTAIN_SENTENCE_SIMILARITY",
           "coverage": "HPSR_ABSTAIN_COVERAGE", "absent_share": "HPSR_ABSTAIN_ABSENT_SHARE"}


@dataclass
class Calibration:
    rows: list[tuple[str, bool, dict]]  # (question id, expect_abstain, signals with every threshold off)
    chosen: Thresholds
    abstained_right: int  # out-of-scope questions refused at the chosen thresholds
    false_abstentions: int  # answerable questions refused at them

    @property
    def answerable(self) -> int:
        return sum(1 for _, refuse, _ in self.rows if not refuse)

    @property
    def out_of_scope(self) -> int:
        return len(self.rows) - self.answerable

    def table(self) -> str:
        """Each question's signals and decision, then the chosen thresholds as settings."""
        head = f"{'question':10} {'kind':12} {'passage':>7} {'sentence':>8} {'coverage':>8} {'absent':>6}  decision"
        out = [head]
        for qid, refuse, sig in sorted(self.rows, key=lambda r: (r[1], r[2]["sentence_similarity"])):
            ok, reason = decide(sig, self.chosen)
            out.append(f"{qid:10} {'out of scope' if refuse else 'answerable':12} {sig['similarity']:7.2f} "
                       f"{sig['sentence_similarity']:8.2f} {sig['coverage']:8.2f} {sig['absent_share']:6.2f}  "
                       f"{'answer' if ok else 'abstain: ' + reason}")
        out.append("")
        out.append(f"out-of-scope refused: {self.abstained_right}/{self.out_of_scope}; "
                   f"answerable refused (false abstentions): {self.false_abstentions}/{self.answerable}")
        out.append("chosen thresholds (set as environment variables, or as Settings defaults):")
        out += [f"  {SETTING[k]}={getattr(self.chosen, k)}" for k in SETTING]
        return "\n".join(out)


def signals(index: Index, questions: list[dict]) -> list[tuple[str, bool, dict]]:
    """(id, expect_abstain, signals) per question, answered with every threshold off."""
    rows = []
    off = Thresholds.off()
    for q in questions:
        previous = answer(index, q["previous"], limits=off).search_query if q.get("previous") else None
        a = answer(index, q["question"], previous=previous, limits=off)
        rows.append((q.get("id", q["question"]), bool(q.get("expect_abstain")), a.signals))
    return rows


def choose(rows: list[tuple[str, bool, dict]], max_false: float = 0.05, slack: int = SLACK) -> Calibration:
    """The grid point that refuses the most out-of-scope questions while refusing at most
    `max_false` of the answerable ones more than the rules alone do (the middle one among
    equals). The rules (a name no document mentions, a year the passages lack...) do not
    depend on thresholds; their false abstentions are reported, not traded against."""
    n_answerable = sum(1 for _, refuse, _ in rows if not refuse)
    by_rules = sum(1 for _, refuse, sig in rows if not refuse and not decide(sig, Thresholds.off())[0])
    allowed = by_rules + int(max_false * n_answerable + 1e-9)
    scored: list[tuple[int, int, tuple]] = []
    names = list(GRID)
    for point in itertools.product(*(GRID[n] for n in names)):
        limits = Thresholds(**dict(zip(names, (float(v) for v in point))))
        right = wrong = 0
        for _, refuse, sig in rows:
            ok, _ = decide(sig, limits)
            if refuse and not ok:
                right += 1
            elif not refuse and not ok:
                wrong += 1
        if wrong <= allowed:
            scored.append((right, -wrong, point))
    if not scored:  # nothing meets the bound: take the laxest thresholds
        point = tuple(GRID[n][0] if n != "absent_share" else GRID[n][-1] for n in names)
        scored = [(0, 0, point)]
    best = max(s[:2] for s in scored)
    # One refusal short of the best counts as a tie: on a few dozen questions one refusal is
    # noise, and a laxer point refuses fewer answerable questions it has not seen.
    ties = [s[2] for s in scored if s[0] >= best[0] - slack and s[1] >= best[1]]
    # Leniency: how far each threshold sits from refusing nothing, in grid steps, summed.
    strictness = {n: {float(v): (i if n != "absent_share" else len(GRID[n]) - 1 - i)
                      for i, v in enumerate(GRID[n])} for n in names}
    point = min(ties, key=lambda p: sum(strictness[n][float(v)] for n, v in zip(names, p)))
    chosen = Thresholds(**{n: round(float(v), 2) for n, v in zip(names, point)})
    right, wrong = next(s[:2] for s in scored if s[2] == point)
    return Calibration(rows, chosen, right, -wrong)


def calibrate(index: Index, files: list[str | Path], max_false: float = 0.05) -> Calibration:
    """Signals for every question of `files` (JSONL), then the thresholds chosen from them."""
    questions = [q for f in files for q in load_questions(f)]
    return choose(signals(index, questions), max_false)
