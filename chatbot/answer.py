"""Extractive answers: pick the sentences of the retrieved passages that best answer the
question, and cite each one. No generated text: every answer sentence is a verbatim span of
a cited passage, so the chat can never state what the documents do not say. When the
documents do not answer (chatbot.answerable), it says so and why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from chatbot.answerable import KIND_PATTERNS, Judge, Thresholds, answer_kind
from chatbot.followup import resolve
from chatbot.sentences import Sentence, candidates
from chatbot.table_answer import columns_asked, lines, names_row, scored_text, shown
from chatbot.terms import question_terms
from index import Hit, Index
from ingest.normalize import FOOTNOTE_MARK, clean
from ingest.types import Table

MAX_QUESTION_CHARS = 1000
ABSTAIN_TEXT = "The documents don't answer this question."
POOL_DEPTH = 20  # passages searched for ones that mention the question's names and years
SCORED_SENTENCES = 8  # sentences scored by similarity per question, after a cheap first ranking
# A sentence's relevance: cosine to the question, plus these times the passage's similarity,
# the share of the question's words it holds, and 1 if it holds the kind of answer asked for;
# a table row's, plus these if the question names its label or one of its columns.
# "tail": a sentence scoring this much below the best one is left out.
WEIGHTS = {"prior": 0.2, "overlap": 0.3, "kind": 0.15, "tail": 0.3, "row_label": 0.25, "row_column": 0.1}


@dataclass(frozen=True)
class Citation:
    number: int  # the [n] used in the answer text
    hit: Hit
    sentences: tuple[tuple[int, int], ...]  # character spans in `passage` quoted in the answer
    passage: str = ""  # the cited text: the hit's passage widened to whole sentences (same page)
    table: Table | None = None  # an answer from a table: the rows and columns shown


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # sentences each followed by [n]; or ABSTAIN_TEXT
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]  # everything retrieved, best first (shown as low-confidence on abstain)
    abstained: bool
    confidence: float  # the best passage's cosine similarity to the question
    search_query: str = ""  # the question as searched: a follow-up says what "it" is
    notes: tuple[str, ...] = field(default=())
    reason: str = ""  # why the documents don't answer it, in plain words (when abstained)
    signals: dict = field(default_factory=dict, compare=False)  # what the decision rested on

    @property
    def rewritten(self) -> bool:
        """The question was searched in other words (a follow-up made to stand alone)."""
        return bool(self.search_query) and self.search_query != self.question


def thresholds(index: Index) -> Thresholds:
    s = index.settings
    return Thresholds(s.abstain_similarity, s.abstain_sentence_similarity, s.abstain_coverage,
                      s.abstain_absent_share)


def answer(index: Index, question: str, previous: str | None = None, doc: str | None = None,
           k: int = 5, max_sentences: int = 3, limits: Thresholds | None = None) -> Answer:
    """Answer `question` from `index` with cited sentences, or abstain and say why.

    previous: the conversation's last question (as searched), for follow-ups.
    """
    question = question.strip()
    notes: list[str] = []
    if len(question) > MAX_QUESTION_CHARS:
        question = question[:MAX_QUESTION_CHARS]
        notes.append(f"Your question was cut to its first {MAX_QUESTION_CHARS} characters.")
    # Control characters and bidi overrides (which can make text read differently from what
    # it is) go, as they do from documents; `previous` comes from API callers too: bound it.
    question = clean(question)
    previous = clean(previous[:MAX_QUESTION_CHARS]) if previous else None
    query = resolve(question, previous)
    limits = limits or thresholds(index)
    # Deeper than k: the passages that mention what the question names may rank below it.
    qvec = index.embedder.encode_query(query, threads=index.settings.query_threads)  # the one model pass
    found = index.search(query, k=max(k, POOL_DEPTH), doc=doc, mode="hybrid", vector=qvec)
    hits = found[:k]
    confidence = max((h.similarity or 0.0 for h in hits), default=0.0)
    judge = Judge(index)

    def abstain(reason: str, signals: dict) -> Answer:
        return Answer(question, ABSTAIN_TEXT, (), tuple(hits), True, confidence, query, tuple(notes),
                      reason, signals)

    if not hits:
        verdict = judge.judge(query, hits, [], [], 0.0, limits)
        return abstain(verdict.reason, verdict.signals)
    # Quote from passages that mention the places and names the question does, if any do.
    terms = question_terms(query)
    pool = [h for h in found if judge.supports(terms, h)][:k] or list(hits)
    sentences, contexts = candidates(index, pool)
    chosen, sims = _choose(index, query, qvec, pool, sentences, max_sentences) if sentences else ([], [])
    verdict = judge.judge(query, hits, list(dict.fromkeys(pool[sentences[c].hit] for c in chosen)),
                          [sentences[c].text for c in chosen], max((float(sims[c]) for c in chosen), default=0.0),
                          limits)
    if not verdict.answerable:
        return abstain(verdict.reason, verdict.signals)
    return _compose(index, question, query, hits, pool, [sentences[c] for c in chosen], contexts, confidence,
                    notes, verdict.signals)


def _choose(index: Index, question: str, qvec: np.ndarray, pool: list[Hit], sentences: list[Sentence],
            n: int) -> tuple[list[int], np.ndarray]:
    """The best sentences (MMR), and every sentence's cosine similarity to the question.

    The passage's own similarity is a prior, so a sentence from a strong passage beats a stray
    match; words shared with the question and the kind of answer asked for (a year for 'when',
    a number for 'how many') count too: the embedding alone often prefers a sentence that
    restates the subject over the one that holds the date or figure.
    """
    # A table row is scored as it would be shown: with its caption ("Nurses — 2022 · Number: 935"
    # says little alone) and only the columns the question asks for. All of its words: the fee
    # for glucose meters is the 60th word of the row on medical products.
    texts = [scored_text(pool[s.hit].table, s.row, question) if s.is_row else s.text for s in sentences]
    prior = np.array([pool[s.hit].similarity or 0.0 for s in sentences])
    lexical = (WEIGHTS["prior"] * prior + WEIGHTS["overlap"] * _overlap(question, texts)
               + WEIGHTS["kind"] * _answer_type(question, texts)
               + np.array([_row_match(pool[s.hit].table, s.row, question) if s.is_row else 0.0 for s in sentences]))
    keep = np.argsort(-lexical, kind="stable")[:SCORED_SENTENCES]
    # Sentence vectors come from the index (made at ingest): dot products with the question's
    # vector. One missing (an index without it) is embedded now.
    sv = np.zeros((len(texts), len(qvec)), dtype=np.float32)
    missing = [i for i in keep if sentences[i].vector is None]
    if missing:
        sv[missing] = index.embedder.encode_cached([texts[i] for i in missing], threads=index.settings.query_threads)
    for i in keep:
        if sentences[i].vector is not None:
            sv[i] = sentences[i].vector
    sims = np.full(len(texts), -1.0)
    sims[keep] = sv[keep] @ qvec
    relevance = np.where(sims > -1.0, sims + lexical, -np.inf)
    chosen = _mmr(relevance, sv, texts, [s.is_row for s in sentences], n, candidates=list(keep))
    best = relevance[chosen[0]]
    chosen = [c for c in chosen if relevance[c] >= best - WEIGHTS["tail"]]  # drop weak tail sentences
    # An answer is prose or one table's rows, whichever the best candidate is.
    lead = sentences[chosen[0]]
    chosen = [c for c in chosen if sentences[c].is_row == lead.is_row and (not lead.is_row or sentences[c].hit == lead.hit)]
    chosen.sort(key=lambda c: (sentences[c].hit, sentences[c].start))  # passage, then reading order
    return chosen, sims


def _compose(index: Index, question: str, query: str, hits: list[Hit], pool: list[Hit], chosen: list[Sentence],
             contexts: dict, confidence: float, notes: list[str], signals: dict) -> Answer:
    """The answer text with [n] after each sentence, and one citation per quoted passage: the
    passage widened to whole sentences, so the quote is verbatim inside what is cited."""
    if chosen[0].is_row:
        return _compose_table(index, question, query, hits, pool, chosen, confidence, notes, signals)
    numbers: dict[int, int] = {}
    for s in chosen:
        numbers.setdefault(s.hit, len(numbers) + 1)
    citations = []
    for h, n in numbers.items():
        block, cs, ce = contexts[h]
        mine = [s for s in chosen if s.hit == h]
        lo, hi = min([cs] + [s.start for s in mine]), max([ce] + [s.end for s in mine])
        citations.append(Citation(n, pool[h], tuple((s.start - lo, s.end - lo) for s in mine), block[lo:hi]))
    text = " ".join(f"{' '.join(FOOTNOTE_MARK.sub('', s.text).split())} [{numbers[s.hit]}]" for s in chosen)
    return Answer(question, text, tuple(citations), tuple(hits), False, confidence, query, tuple(notes),
                  "", signals)


def _row_match(table: Table, row: int, question: str) -> float:
    return (WEIGHTS["row_label"] * names_row(table, row, question)
            + WEIGHTS["row_column"] * (len(columns_asked(question, table.header)) < len(table.header) - 1))


def _compose_table(index: Index, question: str, query: str, hits: list[Hit], pool: list[Hit],
                   chosen: list[Sentence], confidence: float, notes: list[str], signals: dict) -> Answer:
    """The answer from one table: its caption, header and the rows chosen, with the columns the
    question asks for, cited [1] with the passage, at the page of its first row shown."""
    hit = pool[chosen[0].hit]
    table = shown(hit.table, sorted({s.row for s in chosen}), query)
    page = table.pages[0]
    hit = replace(hit, page=page, page_label=index.page_label(hit.doc_id, page))
    citation = Citation(1, hit, (), hit.text, table)
    text = " ".join(f"{line} [1]" for line in lines(table))
    return Answer(question, text, (citation,), tuple(hits), False, confidence, query, tuple(notes), "", signals)


def _answer_type(question: str, sentences: list[str]) -> np.ndarray:
    """1 for sentences holding the kind of answer asked for (a year for 'when', a number for
    'how many', a cause for 'why'), else 0."""
    kind = answer_kind(question)
    if kind is None or kind == "person":  # a person is checked by chatbot.answerable, not ranked
        return np.zeros(len(sentences))
    pattern = _DIGITS if kind == "number" else KIND_PATTERNS[kind]  # a figure, an amount...
    return np.array([1.0 if pattern.search(s) else 0.0 for s in sentences])


# A figure: digits, or a number word inside the sentence ("up to eight sessions"; a sentence
# opening "Two global entities..." is not giving a count).
_DIGITS = re.compile(r"\d|(?<=\w )(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                     r"thirty|forty|fifty|hundred|thousand|million|billion|half|third|quarter)\b", re.I)


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


def _mmr(relevance: np.ndarray, vecs: np.ndarray, texts: list[str], rows: list[bool], n: int,
         candidates: list[int], lam: float = 0.7) -> list[int]:
    """Maximal marginal relevance: relevant sentences that do not repeat each other."""
    chosen: list[int] = []
    rest = list(candidates)
    words = {i: _words(texts[i]) for i in candidates}

    def same(i: int, j: int) -> bool:
        # Prose is compared by words, not vectors: stored sentence vectors carry their context,
        # so neighbouring sentences are close and a repeat elsewhere may not be. Table rows
        # share their caption's words, so they are compared by vector.
        if rows[i] or rows[j]:
            return float(vecs[i] @ vecs[j]) > 0.9
        return len(words[i] & words[j]) >= 0.8 * min(len(words[i]), len(words[j]))

    while rest and len(chosen) < n:
        def gain(i: int) -> float:
            redundancy = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
            return lam * relevance[i] - (1 - lam) * redundancy
        best = max(rest, key=gain)
        rest.remove(best)
        # A near-duplicate (chunk overlap; a summary repeating the text): the longer of the two
        # stays, as a sentence with the one it refers back to holds that one.
        twins = [j for j in (chosen[:1] if rows[best] else chosen) if same(best, j)]
        if twins:
            if len(twins) == 1 and not rows[best] and len(words[best]) > len(words[twins[0]]):
                chosen[chosen.index(twins[0])] = best
            continue
        chosen.append(best)
    return chosen
