"""Extractive answers: pick the sentences of the retrieved passages that best answer the
question, and cite each one. No generated text: every answer sentence is a verbatim span of
a cited passage, so the chat can never state what the documents do not say. When the
documents do not answer (chatbot.answerable), it says so and why.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from chatbot.answerable import Evidence, Judge, holds_kind
from chatbot.followup import resolve
from chatbot.question import FIGURE_KINDS, Question, analyse
from chatbot.sentences import Sentence, candidates
from chatbot.signals import Signals, Weights, decide
from chatbot.table_answer import asks_table, columns_asked, lines, names_row, scored_text, shown
from index import Hit, Index
from ingest.kinds import TEXT
from ingest.lexicon import FIGURE, stems
from ingest.normalize import FOOTNOTE_MARK, clean
from ingest.types import Table

MAX_QUESTION_CHARS = 1000
ABSTAIN_TEXT = "The documents don't answer this question."
POOL_DEPTH = 20  # passages searched for ones that mention the question's names and years
QUOTED_FROM = 5  # passages whose sentences may be quoted
SCORED_SENTENCES = 8  # sentences scored by similarity per question, after a cheap first ranking
# A sentence's relevance: cosine to the question, plus these times the passage's similarity,
# the share of the question's words it holds (by rarity among the candidates), the share of its
# terms it holds (by rarity in the library: chatbot.answerable.Judge.support), and 1 if it holds
# the kind of answer asked for, and (a follow-up's "what about X") 1 if it holds X; a table
# row's, plus these if the question names its label or one of its columns. "tail": a sentence scoring this much below the best one is left out;
# "rival": one scoring within this of the best is quoted too, as as good an answer. Chosen on
# eval/dev.
WEIGHTS = {"prior": 0.2, "overlap": 0.3, "support": 0.3, "kind": 0.15, "about": 0.3, "tail": 0.3, "rival": 0.1,
           "row_label": 0.25, "row_column": 0.1}


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
    signals: Signals | None = field(default=None, compare=False)  # what the decision rested on
    # Every candidate sentence (a table row in full) the answer was chosen from: tells a
    # retrieval miss from a choice miss in the eval.
    considered: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def rewritten(self) -> bool:
        """The question was searched in other words (a follow-up made to stand alone)."""
        return bool(self.search_query) and self.search_query != self.question


@lru_cache(maxsize=8)
def _weights(path, threshold: float | None) -> Weights:
    return Weights.load(path, threshold)


def weights_of(index: Index) -> Weights:
    """The abstention weights the index's settings name (HPSR_ABSTAIN_WEIGHTS, _THRESHOLD)."""
    return _weights(index.settings.abstain_weights, index.settings.abstain_threshold)


def answer(index: Index, question: str, previous: str | None = None, doc: str | None = None,
           k: int = 5, max_sentences: int = 3, weights: Weights | None = None) -> Answer:
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
    weights = weights or weights_of(index)
    q = analyse(query)
    # Deeper than k: the passages that mention what the question names may rank below it.
    qvec = index.embedder.encode_query(query, threads=index.settings.query_threads)  # the one model pass
    found = index.search(query, k=max(k, POOL_DEPTH), doc=doc, vector=qvec)
    hits = found[:k]
    confidence = max((h.similarity or 0.0 for h in hits), default=0.0)
    judge = Judge(index)
    # Quote from passages that mention the places and names the question does, if any do.
    pool = [h for h in found if judge.supports(q, h)][:QUOTED_FROM] or list(found[:QUOTED_FROM])
    sentences, contexts = candidates(index, pool, depth=QUOTED_FROM) if hits else ([], {})
    chosen, sims, texts, support = _choose(index, judge, q, qvec, pool, sentences, max_sentences) \
        if sentences else ([], [], [], [])
    considered = tuple(pool[s.hit].table.row_text(s.row) if s.is_row else s.text for s in sentences)
    evidence = Evidence(hits, [texts[c] for c in chosen], [pool[sentences[c].hit] for c in chosen],
                        [float(support[c]) for c in chosen], max((float(sims[c]) for c in chosen), default=0.0))
    signals = judge.signals(q, evidence)
    ok, reason = decide(signals, weights)
    if not ok:
        # The nearest passages, shown with low confidence and named in the reason: running text
        # only (a reference list's broken links and a contents page say nothing to the reader),
        # closest first.
        nearest = sorted((h for h in found if h.kind in (TEXT, "table")), key=lambda h: -(h.similarity or 0.0))[:k]
        if nearest and not signals.nothing_asked:
            titles = dict.fromkeys(h.title for h in nearest)
            reason += " The closest passages are from " + " and ".join(f"“{t}”" for t in list(titles)[:2]) + "."
        return Answer(question, ABSTAIN_TEXT, (), tuple(nearest), True, confidence, query, tuple(notes), reason,
                      signals, considered)
    return replace(_compose(index, question, query, q, hits, pool, [sentences[c] for c in chosen], contexts,
                            confidence, notes, signals), considered=considered)


def _choose(index: Index, judge: Judge, q: Question, qvec: np.ndarray, pool: list[Hit], sentences: list[Sentence],
            n: int) -> tuple[list[int], np.ndarray, list[str], np.ndarray]:
    """The sentences that answer, best first; every sentence's cosine similarity to the
    question; the texts they were scored as (a table row with its caption and the columns
    asked for); and the share of the question's terms each holds (Judge.support).

    A sentence's relevance is its cosine to the question, plus: its passage's similarity (a
    prior, so a sentence from a strong passage beats a stray match), the words it shares with
    the question (by rarity among the candidates), the share of the question's terms it holds
    (by rarity in the library, names counting where its passage or document is about them),
    and whether it holds the kind of answer asked for (the embedding alone often prefers a
    sentence that restates the subject over the one that holds the date or figure).
    The best one leads. Another follows only if it is nearly as relevant and holds a term of
    the question, or the kind of answer asked for, that the sentences before it do not: a
    sentence that merely shares the topic is not an answer.
    """
    # A table row is scored as it would be shown: with its caption ("Nurses — 2022 · Number: 935"
    # says little alone) and only the columns the question asks for. All of its words: the fee
    # for glucose meters is the 60th word of the row on medical products.
    texts = [scored_text(pool[s.hit].table, s.row, q) if s.is_row else s.text for s in sentences]
    prior = np.array([pool[s.hit].similarity or 0.0 for s in sentences])
    row_match = np.array([_row_match(pool[s.hit].table, s.row, q) if s.is_row else 0.0 for s in sentences])
    held = judge.held(q, texts, [pool[s.hit] for s in sentences])
    support = judge.support(q, held)
    lexical = (WEIGHTS["prior"] * prior + WEIGHTS["overlap"] * _overlap(q, texts)
               + WEIGHTS["support"] * support + WEIGHTS["kind"] * _answer_type(q, texts) + row_match)
    # Sentence vectors come from the index (made at ingest): dot products with the question's
    # vector. Those missing (an index without them) are embedded now, for the best few only.
    sv = np.zeros((len(texts), len(qvec)), dtype=np.float32)
    stored = [i for i, s in enumerate(sentences) if s.vector is not None]
    if stored:
        sv[stored] = np.stack([sentences[i].vector for i in stored])
    missing = [i for i in np.argsort(-lexical, kind="stable")[:SCORED_SENTENCES] if sentences[i].vector is None]
    if missing:
        sv[missing] = index.embedder.encode_cached([texts[i] for i in missing], threads=index.settings.query_threads)
    scored = sorted(set(stored) | set(missing))
    sims = np.full(len(texts), -1.0)
    sims[scored] = sv[scored] @ qvec
    if q.about:  # "What about doctors?": a sentence about doctors
        lexical += WEIGHTS["about"] * np.array([judge.holds_about(q, t, pool[s.hit]) for t, s in zip(texts, sentences)])
    relevance = np.where(sims > -1.0, sims + lexical, -np.inf)
    order = [int(i) for i in np.argsort(-relevance, kind="stable") if relevance[i] > -np.inf]
    # A table answers a question that names one of its rows or columns; a prose question is
    # answered in prose when some prose sentence is a candidate.
    lead = order[0]
    if sentences[lead].is_row and not (asks_table(pool[sentences[lead].hit].table, sentences[lead].row, q)
                                       and judge.speaks_of_all(q, pool[sentences[lead].hit])):
        lead = next((i for i in order if not sentences[i].is_row), lead)
    chosen = [lead]
    holds = set(held[lead])
    for i in order:
        if len(chosen) >= n or relevance[i] < relevance[lead] - WEIGHTS["tail"]:
            break
        if i in chosen or sentences[i].is_row != sentences[lead].is_row:
            continue
        if sentences[i].is_row:  # more rows of the same table, not a repeat of one
            if sentences[i].hit == sentences[lead].hit and not any(float(sv[i] @ sv[j]) > 0.9 for j in chosen[:1]):
                chosen.append(i)
            continue
        adds = held[i] - holds
        gives = q.kind in FIGURE_KINDS and not any(holds_kind(q.kind, texts[j]) for j in chosen) \
            and holds_kind(q.kind, texts[i])
        close = relevance[i] >= relevance[lead] - WEIGHTS["rival"]  # as good an answer as the lead
        twins = [j for j in chosen if _same(texts[i], texts[j])]
        if twins:
            # A near-duplicate (chunk overlap; an anaphoric sentence quoted with the one before
            # it): the longer of the two stays, as it holds the other.
            if len(twins) == 1 and len(stems(texts[i])) > len(stems(texts[twins[0]])):
                chosen[chosen.index(twins[0])] = i
                holds |= held[i]
            continue
        if adds or gives or close:
            chosen.append(i)
            holds |= adds
    # The year, figure or amount asked for comes first, where a chosen sentence gives it.
    chosen.sort(key=lambda c: not holds_kind(q.kind, texts[c]))
    return chosen, sims, texts, support


def _same(a: str, b: str) -> bool:
    """Near-duplicates (chunk overlap, a summary repeating the text), compared by words: stored
    sentence vectors carry their context, so neighbouring sentences are close and a repeat
    elsewhere may not be."""
    wa, wb = stems(a), stems(b)
    return len(wa & wb) >= 0.8 * min(len(wa), len(wb))


def _compose(index: Index, question: str, query: str, q: Question, hits: list[Hit], pool: list[Hit],
             chosen: list[Sentence], contexts: dict, confidence: float, notes: list[str], signals: Signals) -> Answer:
    """The answer text with [n] after each sentence, and one citation per quoted passage: the
    passage widened to whole sentences, so the quote is verbatim inside what is cited."""
    if chosen[0].is_row:
        return _compose_table(index, question, query, q, hits, pool, chosen, confidence, notes, signals)
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


def _row_match(table: Table, row: int, q: Question) -> float:
    return (WEIGHTS["row_label"] * names_row(table, row, q)
            + WEIGHTS["row_column"] * (len(columns_asked(q, table.header)) < len(table.header) - 1))


def _compose_table(index: Index, question: str, query: str, q: Question, hits: list[Hit], pool: list[Hit],
                   chosen: list[Sentence], confidence: float, notes: list[str], signals: Signals) -> Answer:
    """The answer from one table: its caption, header and the rows chosen, with the columns the
    question asks for, cited [1] with the passage, at the page of its first row shown."""
    hit = pool[chosen[0].hit]
    table = shown(hit.table, sorted({s.row for s in chosen}), q)
    page = table.pages[0]
    hit = replace(hit, page=page, page_label=index.page_label(hit.doc_id, page))
    citation = Citation(1, hit, (), hit.text, table)
    text = " ".join(f"{line} [1]" for line in lines(table))
    return Answer(question, text, (citation,), tuple(hits), False, confidence, query, tuple(notes), "", signals)


def _answer_type(q: Question, sentences: list[str]) -> np.ndarray:
    """1 for sentences holding the kind of answer asked for (a year for 'when', a figure for
    'how many', an amount for 'how much does it cost'), else 0."""
    if q.kind not in FIGURE_KINDS:  # a reason or a person has too many wordings to rank by
        return np.zeros(len(sentences))
    if q.kind == "number":  # a figure after the first word ("Two entities work..." gives no count)
        return np.array([1.0 if FIGURE.search(s, 1) else 0.0 for s in sentences])
    return np.array([1.0 if holds_kind(q.kind, s) else 0.0 for s in sentences])


def _overlap(q: Question, sentences: list[str]) -> np.ndarray:
    """Weighted share of the question's stems found in each sentence.

    Stems are weighted by rarity among the candidate sentences, so the word that asks the
    question ("founded") counts more than the subject every sentence repeats ("health").
    """
    bags = [stems(s) for s in sentences]
    if not q.stems or not bags:
        return np.zeros(len(sentences))
    n = len(bags)
    weight = {w: np.log(1 + n / (1 + sum(w in b for b in bags))) for w in q.stems}
    total = sum(weight.values()) or 1.0
    return np.array([sum(weight[w] for w in q.stems if w in b) / total for b in bags])
