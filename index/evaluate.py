"""Score retrieval on a question set: JSONL with `question`, `expect`, optional `page`/`expect_abstain`."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from index.search import Hit

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
                         "–": "-", "—": "-", "−": "-"})


def normalize(text: str) -> str:
    """Lowercase, NFKC, straight quotes, line-end hyphenation joined, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def load_questions(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def is_relevant(hit: Hit, question: dict) -> bool:
    """A hit answers a question if it contains one of its `expect` strings (on its `page`)."""
    text = normalize(hit.text)
    if not any(normalize(e) in text for e in question.get("expect", [])):
        return False
    return question.get("page") is None or hit.page == question["page"]


@dataclass
class QuestionResult:
    question: dict
    rank: int | None  # 1-based rank of the first relevant hit, None if not in the results
    top_score: float
    best_similarity: float | None  # highest query-passage cosine among the hits (None: bm25)


@dataclass
class DevScores:
    results: list[QuestionResult] = field(default_factory=list)

    @property
    def answerable(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.question.get("expect_abstain")]

    def recall_at(self, k: int) -> float:
        rs = self.answerable
        return sum(1 for r in rs if r.rank is not None and r.rank <= k) / max(1, len(rs))

    def mrr_at(self, k: int = 10) -> float:
        rs = self.answerable
        return sum(1 / r.rank for r in rs if r.rank is not None and r.rank <= k) / max(1, len(rs))

    def misses(self, k: int = 5) -> list[dict]:
        return [r.question for r in self.answerable if r.rank is None or r.rank > k]


def score_questions(questions: list[dict], search: Callable[[str, int], list[Hit]],
                    depth: int = 10) -> DevScores:
    """Run every question through `search(question, depth)` and record the first relevant rank."""
    scores = DevScores()
    for q in questions:
        hits = search(q["question"], depth)
        rank = next((i for i, h in enumerate(hits, 1) if is_relevant(h, q)), None)
        sims = [h.similarity for h in hits if h.similarity is not None]
        scores.results.append(QuestionResult(q, rank, hits[0].score if hits else 0.0,
                                             max(sims) if sims else (None if hits else 0.0)))
    return scores


def evaluate_dev(idx, path: str | Path, modes: list[str]) -> list[dict]:
    """recall@1, recall@5, MRR@10 per mode on a question set: one dict per mode, with the ids of
    the questions missed in the top 5."""
    path = Path(path)
    questions = load_questions(path)
    rows = []
    for mode in modes:
        sc = score_questions(questions, lambda q, k: idx.search(q, k, mode=mode))
        row = {"set": path.stem, "mode": mode, "recall@1": round(sc.recall_at(1), 3),
               "recall@5": round(sc.recall_at(5), 3), "mrr@10": round(sc.mrr_at(10), 3),
               "misses@5": [q.get("id") for q in sc.misses(5)]}
        rows.append(row)
    return rows
