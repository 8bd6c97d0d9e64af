"""Choose the abstention threshold from a question set with answerable and out-of-scope questions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index import Index
from index.evaluate import load_questions, score_questions


@dataclass
class Calibration:
    answerable: list[tuple[str, float]]  # (question id, best-passage similarity)
    out_of_scope: list[tuple[str, float]]

    @property
    def threshold(self) -> float:
        """Midpoint of the gap between the best out-of-scope and the worst answerable score."""
        lo = max((s for _, s in self.out_of_scope), default=0.0)
        hi = min((s for _, s in self.answerable), default=1.0)
        return round((lo + hi) / 2, 2)

    def accuracy(self, threshold: float) -> float:
        right = sum(s >= threshold for _, s in self.answerable) + sum(s < threshold for _, s in self.out_of_scope)
        return right / max(1, len(self.answerable) + len(self.out_of_scope))

    def table(self) -> str:
        rows = [f"{'question':12} {'kind':13} similarity"]
        rows += [f"{q:12} {'answerable':13} {s:.3f}" for q, s in sorted(self.answerable, key=lambda x: x[1])]
        rows += [f"{q:12} {'out of scope':13} {s:.3f}" for q, s in sorted(self.out_of_scope, key=lambda x: x[1])]
        t = self.threshold
        rows.append(f"threshold (midpoint of the gap): {t:.2f}; abstention accuracy at it: {self.accuracy(t):.2f}")
        return "\n".join(rows)


def calibrate(index: Index, questions: str | Path | list[dict], k: int = 5) -> Calibration:
    """Best-passage similarity (what `answer` compares with its threshold) for each question."""
    qs = load_questions(questions) if not isinstance(questions, list) else questions
    result = Calibration([], [])
    for r in score_questions(qs, lambda q, depth: index.search(q, k=depth, mode="hybrid"), depth=k).results:
        kind = result.out_of_scope if r.question.get("expect_abstain") else result.answerable
        kind.append((r.question.get("id", r.question["question"]), r.best_similarity or 0.0))
    return result
