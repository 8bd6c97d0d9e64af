"""Extractive answers: pick the sentences of the retrieved passages that best answer the
question, and cite each one. No generated text: every answer sentence is a verbatim span of
a cited passage, so the chat can never state what the documents do not say.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from index import Hit, Index
from ingest.normalize import clean

# Below this cosine similarity between the question and the best passage, the documents are
# taken not to answer it. Calibrated on ../shared/eval/hpsr_dev.jsonl with `hpsr calibrate`
# (midpoint of the gap between off-topic and answerable questions); see README.
ABSTAIN_BELOW = 0.31
MAX_QUESTION_CHARS = 1000
ABSTAIN_TEXT = "The documents don't answer this question."

_BOUNDARY = re.compile(r"[.!?][\"”’)]?\s+(?=[\"“(\[•]?[A-Z0-9€£$])|\n+")
_ABBREVIATIONS = ("fig.", "e.g.", "i.e.", "no.", "al.", "vol.", "p.", "pp.", "dr.", "mr.", "ms.",
                  "st.", "vs.", "approx.", "incl.", "ref.", "eq.", "tab.")
_FOOTNOTE = re.compile(r"(?<=[\w)])\[\d{1,3}\]")  # "Kosovo[1]": would read as our citation
_FOLLOW_UP = re.compile(r"^(and|but|also|what about|how about|so)\b|\b(it|its|they|them|their|this|"
                        r"that|these|those|he|she|his|her)\b", re.I)


@dataclass(frozen=True)
class Citation:
    number: int  # the [n] used in the answer text
    hit: Hit
    sentences: tuple[tuple[int, int], ...]  # character spans in hit.text quoted in the answer


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # sentences each followed by [n]; or ABSTAIN_TEXT
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]  # everything retrieved, best first (shown as low-confidence on abstain)
    abstained: bool
    confidence: float  # the best passage's cosine similarity to the question
    search_query: str = ""  # the question as searched (with the previous turn for follow-ups)
    notes: tuple[str, ...] = field(default=())


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (or stand-alone lines) of a passage."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if m.group().strip() and text[:m.start() + 1].lower().endswith(_ABBREVIATIONS):
            continue  # "Fig. 2", "e.g. the", "et al. 2020": not the end of a sentence
        spans.append((start, m.start() + len(m.group().rstrip())))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 12:
            out.append((s, e))
    return out


def search_query(question: str, previous: str | None) -> str:
    """The question to search for: a follow-up ('and how many members does it have?')
    borrows the words of the previous question so the search knows what 'it' is."""
    if previous and (_FOLLOW_UP.search(question) or len(question.split()) <= 3):
        return f"{previous.strip()} {question.strip()}"
    return question


def answer(index: Index, question: str, previous: str | None = None, doc: str | None = None,
           k: int = 5, max_sentences: int = 3, threshold: float = ABSTAIN_BELOW) -> Answer:
    """Answer `question` from `index` with cited sentences, or abstain below `threshold`."""
    question = question.strip()
    notes: list[str] = []
    if len(question) > MAX_QUESTION_CHARS:
        question = question[:MAX_QUESTION_CHARS]
        notes.append(f"Your question was cut to its first {MAX_QUESTION_CHARS} characters.")
    # Control characters and bidi overrides (which can make text read differently from what
    # it is) go, as they do from documents; `previous` comes from API callers too: bound it.
    question = clean(question)
    previous = clean(previous[:MAX_QUESTION_CHARS]) if previous else None
    query = search_query(question, previous)
    hits = index.search(query, k=k, doc=doc, mode="hybrid")
    confidence = max((h.similarity or 0.0 for h in hits), default=0.0)
    if not hits or confidence < threshold:
        return Answer(question, ABSTAIN_TEXT, (), tuple(hits), True, confidence, query, tuple(notes))

    # Score every sentence of the top passages against the question; the passage's own
    # similarity is a prior, so a sentence from a strong passage beats a stray match.
    candidates: list[tuple[int, int, int]] = []  # (hit index, start, end)
    for h_i, hit in enumerate(hits[:3]):
        candidates += [(h_i, s, e) for s, e in sentence_spans(hit.text)]
    if not candidates:
        return Answer(question, ABSTAIN_TEXT, (), tuple(hits), True, confidence, query, tuple(notes))
    texts = [hits[h].text[s:e] for h, s, e in candidates]
    # Sentences are scored against the question itself: for a follow-up, the previous turn
    # only steers the search to the right passages.
    vecs = index.embedder.encode([question] + texts, threads=index.settings.query_threads)
    qv, sv = vecs[0], vecs[1:]
    prior = np.array([hits[h].similarity or 0.0 for h, _, _ in candidates])
    relevance = (sv @ qv + 0.2 * prior + 0.3 * _overlap(question, texts)
                 + 0.15 * _answer_type(question, texts))

    chosen = _mmr(relevance, sv, max_sentences)
    best = relevance[chosen[0]]
    chosen = [c for c in chosen if relevance[c] >= best - 0.15]  # drop weak tail sentences
    chosen.sort(key=lambda c: (candidates[c][0], candidates[c][1]))  # passage, then reading order

    numbers: dict[int, int] = {}
    spans: dict[int, list[tuple[int, int]]] = {}
    parts = []
    for c in chosen:
        h, s, e = candidates[c]
        n = numbers.setdefault(h, len(numbers) + 1)
        spans.setdefault(h, []).append((s, e))
        parts.append(f"{_FOOTNOTE.sub('', hits[h].text[s:e]).strip()} [{n}]")
    citations = tuple(Citation(n, hits[h], tuple(spans[h])) for h, n in numbers.items())
    return Answer(question, " ".join(parts), citations, tuple(hits), False, confidence, query,
                  tuple(notes))


_WHEN = re.compile(r"^\s*(when|in what year|what year|since when)\b", re.I)
_HOW_MANY = re.compile(r"\b(how (many|much|often|long)|what (share|proportion|percentage|number|amount))\b", re.I)
_YEAR = re.compile(r"\b(1[89]|20)\d\d\b")
_NUMBER = re.compile(r"\d")


def _answer_type(question: str, sentences: list[str]) -> np.ndarray:
    """1 for sentences holding the kind of answer asked for (a year for 'when', a number for
    'how many'), else 0. The embedding alone often prefers a sentence that restates the
    subject over the one that holds the date or figure."""
    pattern = _YEAR if _WHEN.search(question) else _NUMBER if _HOW_MANY.search(question) else None
    if pattern is None:
        return np.zeros(len(sentences))
    return np.array([1.0 if pattern.search(s) else 0.0 for s in sentences])


def _words(text: str) -> set[str]:
    return {w.rstrip("s") if len(w) > 4 else w for w in re.findall(r"\w+", text.lower())}


def _overlap(query: str, sentences: list[str]) -> np.ndarray:
    """Weighted share of the query's content words found in each sentence.

    Words are weighted by rarity among the candidate sentences, so the word that asks the
    question ("founded") counts more than the subject every sentence repeats ("health").
    """
    q = {w for w in _words(query) if len(w) >= 4 or w.isdigit()}
    bags = [_words(s) for s in sentences]
    if not q or not bags:
        return np.zeros(len(sentences))
    n = len(bags)
    weight = {w: np.log(1 + n / (1 + sum(w in b for b in bags))) for w in q}
    total = sum(weight.values()) or 1.0
    return np.array([sum(weight[w] for w in q if w in b) / total for b in bags])


def _mmr(relevance: np.ndarray, vecs: np.ndarray, n: int, lam: float = 0.7) -> list[int]:
    """Maximal marginal relevance: relevant sentences that do not repeat each other."""
    chosen: list[int] = []
    rest = list(range(len(relevance)))
    while rest and len(chosen) < n:
        def gain(i: int) -> float:
            redundancy = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
            return lam * relevance[i] - (1 - lam) * redundancy
        best = max(rest, key=gain)
        if chosen and float(vecs[best] @ vecs[chosen[0]]) > 0.9:  # near-duplicate (overlap)
            rest.remove(best)
            continue
        chosen.append(best)
        rest.remove(best)
    return chosen
