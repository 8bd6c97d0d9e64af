"""Fit the abstention weights on question sets with answerable and out-of-scope questions.

Each question is answered once with the weights off, keeping its `Signals`. The questions no
rule refuses are then used to fit a logistic regression over the features of `Signals`
(`signals.FEATURES`): the probability that the quoted sentences answer the question. The
threshold below which the chat refuses is chosen on out-of-fold probabilities (each question
scored by weights fitted without its group: a generated near miss is grouped with its
answerable twin), as the highest one that refuses at most `max_false` of the answerable
questions, rules included. So the figures it reports are for questions the weights were not
fitted on, and the threshold is not set on the same questions that fitted the weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatbot.answer import answer
from chatbot.signals import FEATURES, Signals, Weights, decide
from index import Index
from index.evaluate import load_questions

FOLDS = 5
L2 = 1.0  # ridge penalty on the standardized weights: a few features, a few hundred questions


@dataclass(frozen=True)
class Row:
    id: str
    refuse: bool  # expect_abstain
    signals: Signals
    group: str  # a near miss and its answerable twin share one, so they fall in one fold
    source: str  # the set it came from ("dev/pdfs", "generated/near_misses")

    @property
    def by_rule(self) -> bool:
        return not decide(self.signals, Weights.off())[0]


@dataclass
class Calibration:
    rows: list[Row]
    weights: Weights
    held_out: dict[str, float]  # each row's out-of-fold probability (rows no rule refuses)

    def _refused(self, row: Row, threshold: float) -> bool:
        return row.by_rule or self.held_out[row.id] < threshold

    def figures(self) -> list[dict]:
        """Per source set: out-of-scope refused and answerable refused, out of fold."""
        out = []
        for source in sorted({r.source for r in self.rows}):
            rows = [r for r in self.rows if r.source == source]
            refuse = [r for r in rows if r.refuse]
            keep = [r for r in rows if not r.refuse]
            t = self.weights.threshold
            out.append({"set": source, "questions": len(rows),
                        "refused": _share(sum(self._refused(r, t) for r in refuse), len(refuse)),
                        "by_rules": _share(sum(r.by_rule for r in refuse), len(refuse)),
                        "false_abstentions": _share(sum(self._refused(r, t) for r in keep), len(keep))})
        return out

    def table(self) -> str:
        lines = [f"{'set':26} {'n':>4} {'out of scope refused':>21} {'(by rules)':>10} {'answerable refused':>19}"]
        for f in self.figures():
            lines.append(f"{f['set']:26} {f['questions']:4} {_fmt(f['refused']):>21} {_fmt(f['by_rules']):>10} "
                         f"{_fmt(f['false_abstentions']):>19}")
        lines.append("")
        lines.append("(out of fold: each question scored by weights fitted without it and its twin)")
        lines.append(f"weights fitted on all {len(self.rows)} questions; refuse below P(answer) = "
                     f"{self.weights.threshold:.3f}")
        for n in FEATURES:
            lines.append(f"  {n:20} {self.weights.coef[n]:+8.3f}   (typical answerable: {self.weights.typical[n]:.3f})")
        lines.append(f"  {'bias':20} {self.weights.bias:+8.3f}")
        return "\n".join(lines)


def _share(n: int, d: int) -> float | None:
    return round(n / d, 3) if d else None


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def collect(index: Index, files: list[str | Path]) -> list[Row]:
    """Each question of `files` (JSONL) answered with the weights off, and its signals."""
    rows = []
    off = Weights.off()
    for f in files:
        f = Path(f)
        for q in load_questions(f):
            previous = answer(index, q["previous"], weights=off).search_query if q.get("previous") else None
            a = answer(index, q["question"], previous=previous, weights=off)
            qid = q.get("id", q["question"])
            rows.append(Row(qid, bool(q.get("expect_abstain")), a.signals, q.get("twin", qid),
                            f"{f.parent.name}/{f.stem}"))
    return rows


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method), the two
    classes weighed equally; x is standardized by the caller."""
    n, d = x.shape
    sample = np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum())) * n
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -60, 60)))
        grad = xb.T @ (sample * (p - y)) + penalty * w
        hess = (xb * (sample * p * (1 - p))[:, None]).T @ xb + np.diag(penalty)
        step = np.linalg.solve(hess + 1e-9 * np.eye(d + 1), grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def _fit(rows: list[Row]) -> tuple[dict[str, float], float]:
    """Coefficients on the raw features, and the bias (fitted standardized, then unscaled)."""
    x = np.array([r.signals.vector() for r in rows])
    y = np.array([0.0 if r.refuse else 1.0 for r in rows])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-9] = 1.0
    w, b = _logistic((x - mean) / std, y)
    coef = w / std
    return dict(zip(FEATURES, coef.tolist())), float(b - (coef * mean).sum())


def _probability(coef: dict[str, float], bias: float, signals: Signals) -> float:
    return Weights(coef, bias, 0.0, coef).probability(signals)


def _threshold(rows: list[Row], held_out: dict[str, float], max_false: float) -> float:
    """The highest threshold that refuses at most `max_false` of the answerable rows (rules
    included): the most out-of-scope questions refused within that bound."""
    answerable = [r for r in rows if not r.refuse]
    allowed = int(max_false * len(answerable) + 1e-9) - sum(r.by_rule for r in answerable)
    scores = sorted(held_out[r.id] for r in answerable if not r.by_rule)
    if allowed < 0 or not scores:
        return 0.0
    if allowed >= len(scores):
        return 1.0
    # Refusing the `allowed` lowest-scored answerable questions, and nothing above them: halfway
    # between the last one refused and the first one kept.
    low = scores[allowed - 1] if allowed else 0.0
    return (low + scores[allowed]) / 2


def fit(rows: list[Row], max_false: float = 0.05, folds: int = FOLDS, fitted_on: str = "") -> Calibration:
    """Weights fitted on every row no rule refuses; the threshold from out-of-fold probabilities."""
    usable = [r for r in rows if not r.by_rule]
    groups = sorted({r.group for r in usable})
    fold_of = {g: i % folds for i, g in enumerate(np.random.default_rng(0).permutation(groups))}
    held_out: dict[str, float] = {}
    for k in range(folds):
        train = [r for r in usable if fold_of[r.group] != k]
        if len({r.refuse for r in train}) < 2:
            continue
        coef, bias = _fit(train)
        for r in usable:
            if fold_of[r.group] == k:
                held_out[r.id] = _probability(coef, bias, r.signals)
    for r in usable:
        held_out.setdefault(r.id, 1.0)
    coef, bias = _fit(usable) if len({r.refuse for r in usable}) == 2 else ({n: 0.0 for n in FEATURES}, 0.0)
    answerable = [r for r in usable if not r.refuse] or usable
    typical = {n: float(np.mean([float(getattr(r.signals, n)) for r in answerable])) if answerable else 0.0
               for n in FEATURES}
    weights = Weights(coef, bias, _threshold(rows, held_out, max_false), typical, fitted_on)
    return Calibration(rows, weights, held_out)


def calibrate(index: Index, files: list[str | Path], max_false: float = 0.05) -> Calibration:
    """Signals for every question of `files`, then the weights and threshold fitted on them."""
    names = ", ".join(f"{Path(f).parent.name}/{Path(f).stem}" for f in files)
    return fit(collect(index, files), max_false, fitted_on=f"{names} (max_false {max_false})")
