"""Do the documents answer this? The evidence, gathered from the index into `Signals`
(chatbot.signals), which `decide` turns into an answer or a refusal with its reason.

What the documents name comes from the index: which chunks mention a word (BM25's postings),
how rare it is, the acronyms the documents spell out. What the language says comes from
ingest.lexicon (places and their other names, years, figures, money).
"""
from __future__ import annotations

import math
import re
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from chatbot.question import GLUE, Question, Term
from chatbot.signals import Signals, join
from index import Hit, Index
from ingest.lexicon import FIGURE, MONEY, OFFICE_WORDS, POSSESSIVE, QUANTIFIERS, YEAR, places, stems, tokenize

FOCUS_IDF = 2.5  # what a figure is asked of, rarer than this (in chunks), must be named where it is quoted
PREFIX = 5  # a word this long also finds words sharing its first letters: "Chilean" finds "Chile"
DOC_TOPIC_SHARE = 0.2  # a word in this share of a document's chunks is what the document is about
_NEAR_OFFICE = 40  # characters (some six words) between an office and the name of its holder
_CAPITALISED = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+[A-ZÀ-ÖØ-Þ][\w'’.-]*)+")
# "Zebra Health Fund (ZHF)": a spelled-out name and its acronym, as documents define them.
_DEFINED = re.compile(r"\(([A-Z][A-Za-z&]{1,9})\)")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")  # a rough cut into sentences and table rows, for lookups
# The acronyms each loaded generation defines, made once per generation (and dropped with it).
_ACRONYMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ACRONYMS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Evidence:
    """What an answer would rest on: the passages found and the sentences it would quote."""

    hits: list[Hit]  # the top passages
    quoted: list[str]  # the sentences (or table rows, with caption and header) it would quote
    quoted_from: list[Hit]  # the passage of each quoted sentence
    support: list[float]  # the share of the question's terms each quoted sentence holds (Judge.support)
    sentence_similarity: float  # the best quoted sentence's cosine to the question

    @property
    def cited(self) -> list[Hit]:
        """The passages the quoted sentences are from, each once."""
        return list({h.chunk_id: h for h in self.quoted_from}.values())


def names_holder(sentence: str, office: str) -> bool:
    """Does the sentence name the office and, next to it, a person: two or more capitalised words
    that are not words of offices, bodies, places or titles, within a few words of the office
    ("Health Minister Jane Doe", "Jane Doe, the Minister of Health"; not "the Minister for
    Health" or "Northern Territory", nor a name further off in a list)?"""
    not_person = OFFICE_WORDS | places().words
    for office_at in re.finditer(rf"\b{re.escape(office.split('-')[0])}", sentence, re.I):
        lo, hi = office_at.start() - _NEAR_OFFICE, office_at.end() + _NEAR_OFFICE
        for m in _CAPITALISED.finditer(sentence):
            if m.end() < lo or m.start() > hi:
                continue
            words = [POSSESSIVE.sub("", w.strip("'’.,")).lower() for w in m.group().split()]
            while words and (words[0] in not_person or words[0] in GLUE):  # "The Health Minister ..."
                words.pop(0)
            if len(words) >= 2 and not any(w in not_person or w in GLUE for w in words):
                return True
    return False


def holds_kind(kind: str | None, sentence: str) -> bool:
    """Does the sentence hold the kind of answer asked for (a year, a figure, an amount)? A
    reason or a person is not checked here (too many wordings; chatbot.answerable checks a
    person)."""
    if kind == "year":
        return YEAR.search(sentence) is not None
    if kind == "number":
        return FIGURE.search(sentence) is not None or any(w in QUANTIFIERS for w in sentence.lower().split())
    if kind == "money":
        return MONEY.search(sentence) is not None
    return True


def _acronyms(texts) -> dict[str, tuple[str, ...]]:
    """Acronym -> the words it stands for, from the definitions in the documents' own text."""
    out: dict[str, tuple[str, ...]] = {}
    for text in texts:
        for m in _DEFINED.finditer(text):
            acronym, before = m.group(1), re.findall(r"[^\W\d_][\w'’-]*", text[max(0, m.start() - 120):m.start()])[-10:]
            letters = acronym.lower().replace("&", "")
            for n in range(1, len(before) + 1):
                words = [w.lower().strip("'’") for w in before[-n:]]
                initials = "".join(w[0] for w in words if w not in GLUE)
                every = "".join(w[0] for w in words)
                if letters in (initials, every):
                    out.setdefault(acronym.lower(), tuple(w for w in words if w not in GLUE))
                    break
    return out


def _word(word: str) -> Term:
    """A word of a question as a term of its own (an acronym is a name)."""
    return Term(word, (word.lower(),), named=sum(c.isupper() for c in word) >= 2)


def _same_block(a, b) -> bool:
    return a.doc_id == b.doc_id and a.block == b.block and a.block >= 0


class Judge:
    """Corpus lookups for one index: which chunks mention a word or a term, how rare it is."""

    def __init__(self, index: Index):
        self.index = index
        self.n = max(1, len(index.chunks))
        self._found: dict[str, np.ndarray] = {}  # word -> chunks
        self._terms: dict[tuple[str, ...], np.ndarray] = {}  # a term's words -> chunks
        self._scopes: dict[tuple[str, ...], np.ndarray] = {}  # a name's words -> passages speaking of it
        self._weights: dict[str, dict[tuple[str, ...], float]] = {}  # question text -> term rarities
        self._forms: dict[tuple[str, ...], list[frozenset[str]]] = {}  # a term's words -> the stems that say it

    # -- where words and terms are ------------------------------------------------------------
    def chunks_with(self, word: str) -> np.ndarray:
        """Chunks mentioning the word, its longer forms ("Chilean" finds "Chile")."""
        if word not in self._found:
            self._found[word] = self.index.mentions(word, prefix=PREFIX if len(word) > PREFIX else 0)
        return self._found[word]

    def _word_chunks(self, word: str) -> np.ndarray:
        """Chunks mentioning the word, or, where it names a place, any of the place's other
        forms ("Filipino" finds "Philippines")."""
        return np.union1d(self.chunks_with(word), self._place_chunks(places().find(word), but=word.lower()))

    def _place_chunks(self, place, but: str = "") -> np.ndarray:
        """Chunks mentioning a place in any of its forms (all the form's words in one chunk),
        the form `but` aside."""
        found = np.zeros(0, dtype=np.int64)
        for form in place.forms if place else ():
            if form != but:
                found = np.union1d(found, self._all_of(tuple(w for w in form.split() if w not in GLUE) or (form,),
                                                       expand=False))
        return found

    def _all_of(self, words: tuple[str, ...], expand: bool = True) -> np.ndarray:
        """Chunks mentioning every one of the words."""
        lookup = self._word_chunks if expand else self.chunks_with
        found = lookup(words[0])
        for w in words[1:]:
            if not len(found):
                break
            found = np.intersect1d(found, lookup(w))
        return found

    def term_chunks(self, term: Term) -> np.ndarray:
        """Chunks mentioning the term: all its key words in one chunk; a place in any of its
        forms ("Vietnam" finds "Viet Nam"); an acronym as itself or spelled out as the
        documents define it."""
        if term.words not in self._terms:
            found = self._all_of(term.key_words)
            place = places().find(term.text)
            # A name of several words stands together in the text; not one with a place in it
            # ("Chilean Government" is written "Government of Chile").
            if term.named and len(term.key_words) > 1 and place is None \
                    and not any(places().find(w) for w in term.key_words):
                found = self._as_phrase(term, found)
            found = np.union1d(found, self._place_chunks(place))
            if term.is_acronym and len(term.words) == 1:
                spelled = self._spelled(term.words[0])
                if spelled:
                    found = np.union1d(found, self._all_of(spelled))
            elif term.named and len(term.key_words) > 1:  # a name, also where its acronym stands for it
                for acronym, spelled in self.acronyms().items():
                    if spelled == term.key_words:
                        found = np.union1d(found, self.chunks_with(acronym))
            self._terms[term.words] = found
        return self._terms[term.words]

    def _as_phrase(self, term: Term, found: np.ndarray) -> np.ndarray:
        """Of these chunks, those where a name's words stand together, in order ("Results for
        Development", not "results" here and "development" there), in the text or its title
        or section; compared stem by stem, function words aside."""
        want = tokenize([" ".join(term.key_words)])[0]
        keep = []
        for p in found:
            c = self.index.chunks[int(p)]
            have = tokenize([f"{c.title} . {c.section or ''} . {c.text}"])[0]
            if any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1)):
                keep.append(int(p))
        return np.array(keep, dtype=np.int64)

    def _spelled(self, acronym: str) -> tuple[str, ...] | None:
        """What an acronym stands for, as the documents define it ("gps" as "gp": a plural)."""
        found = self.acronyms()
        return found.get(acronym) or (found.get(acronym[:-1]) if acronym.endswith("s") else None)

    def acronyms(self) -> dict[str, tuple[str, ...]]:
        """Acronym -> the words it stands for, as this index's documents define them."""
        gen = self.index.generation
        with _ACRONYMS_LOCK:
            found = _ACRONYMS.get(gen)
            if found is None:
                found = _ACRONYMS[gen] = _acronyms(c.text for c in self.index.chunks)
        return found

    def idf(self, found: np.ndarray | int) -> float:
        n = found if isinstance(found, int) else len(found)
        return math.log((self.n + 1) / (n + 1))

    def _topic_of(self, found: np.ndarray, doc_id: str) -> bool:
        """Is what these chunks mention what the document is about (in a share of its chunks)?"""
        lo, hi = self.index.doc_range(doc_id)
        return np.count_nonzero((found >= lo) & (found < hi)) >= DOC_TOPIC_SHARE * (hi - lo)

    def _about(self, found: np.ndarray, positions: list[int]) -> bool:
        """Is this what the document of one of these chunks is about?"""
        return any(self._topic_of(found, self.index.chunks[p].doc_id) for p in positions)

    def covered(self, term: Term, positions: list[int]) -> bool:
        """The term is in one of these chunks, or (a name) is what their document is about."""
        found = self.term_chunks(term)
        if not len(found):
            return False
        if np.isin(positions, found).any():
            return True
        return not term.is_year and self._about(found, positions)

    def supports(self, q: Question, hit: Hit) -> bool:
        """Does this passage (or its document) mention every name in the question? (Years are
        checked in the sentences quoted: a passage that names a year in passing is no better.)"""
        pos = [self.index.position(hit.chunk_id)]
        return all(self.covered(t, pos) for t in q.named if t.gates and not t.is_year and len(self.term_chunks(t)))

    def speaks_of_all(self, q: Question, hit: Hit) -> bool:
        """Does this passage speak of every name and acronym of the question that the library
        has (in it, or as what its document is about)?"""
        pos = [self.index.position(hit.chunk_id)]
        return all(self.covered(t, pos) for t in q.subjects if len(self.term_chunks(t)))

    # -- the evidence -------------------------------------------------------------------------
    def signals(self, q: Question, ev: Evidence) -> Signals:
        """Every signal of `Signals` for this question and what the answer would quote."""
        absent = tuple(t.text for t in q.named if not len(self.term_chunks(t)))
        content = [t for t in q.content if t.words[0] not in GLUE]
        missing = [t.text for t in content if not len(self.term_chunks(t))]
        absent_words = ()
        if content and len(missing) == len(content):  # none of its words is in any document
            absent_words = tuple(w for w in missing if len(w) >= 5) or tuple(missing)
        absent_share = len(missing) / len(content) if content else 0.0
        if not q.terms:
            return Signals(nothing_asked=True)
        if not ev.hits or not ev.cited:
            return Signals(absent_names=absent, absent_words=absent_words, unquotable=bool(ev.hits),
                           sentence_similarity=0.0, coverage=0.0, answer_support=0.0,
                           absent_share=absent_share)
        positions = [self.index.position(h.chunk_id) for h in ev.cited]
        # Names must be in the quoted passages or be what their documents are about.
        unsupported = tuple(t.text for t in q.named if t.gates and not t.is_year and t.text not in absent
                            and not self.covered(t, positions))
        cited_text = " ".join(h.title + " " + h.text for h in ev.cited)
        missing_years = tuple(y for y in q.years if y not in cited_text and not any(y in s for s in ev.quoted))
        quoted_stems = [stems(s) for s in ev.quoted]
        weights = self.term_weights(q)
        support = ev.support
        lead = ev.quoted[int(np.argmax(support))] if len(support) else ""
        # The year, figure or amount asked for must stand in a sentence about what is asked.
        answering = [v for text, v in zip(ev.quoted, support) if holds_kind(q.kind, text)]
        # A year asked, which no quoted sentence gives, where the one that answers best gives
        # others: figures for another year.
        other_years = ()
        if q.years and not any(y in text for y in q.years for text in ev.quoted) and YEAR.search(lead):
            other_years = tuple(dict.fromkeys(YEAR.findall(lead)))
        unspoken = self.unspoken(q)
        about = " ".join(t.text for t in q.about) if q.about and not self.spoken_about(q) else ""
        said = frozenset().union(*quoted_stems)
        # What a figure is asked of, if rare enough to be telling (common words such as "people"
        # are often said otherwise), must be named in what is quoted.
        telling = [w for w in q.counted if len(self.chunks_with(w)) and self.idf(self.chunks_with(w)) >= FOCUS_IDF]
        unnamed = max(telling, key=lambda w: self.idf(self.chunks_with(w))) \
            if telling and not any(self.says(_word(w), said) for w in telling) else ""
        holder = q.office if q.office and not any(names_holder(s, q.office) for s in ev.quoted) else ""
        kind = ""
        if not any(holds_kind(q.kind, s) for s in ev.quoted):
            kind = {"year": "year", "number": "figure", "money": "amount of money"}[q.kind]
        words = {t.words[0]: v for t in content for v in [weights.get(t.words)] if v}
        coverage = sum(v for w, v in words.items() if np.isin(positions, self.chunks_with(w)).any()) / \
            (sum(words.values()) or 1.0)
        return Signals(
            absent_names=absent, absent_words=absent_words, unquotable=False, unsupported_names=unsupported,
            missing_years=missing_years, other_years=(", ".join(q.years), ", ".join(other_years)) if other_years else (),
            unspoken=unspoken, unnamed_focus=unnamed, nothing_shared=bool(words) and coverage == 0.0,
            missing_about=about, missing_holder=holder, missing_kind=kind,
            sentence_similarity=ev.sentence_similarity, coverage=coverage if words else 1.0,
            answer_support=float(max(answering, default=0.0)) if weights else 1.0,
            focus_missing=self._missing_focus(q, ev.quoted, quoted_stems), absent_share=absent_share)

    def spoken_about(self, q: Question) -> bool:
        """Do the documents speak of a follow-up's "what about X" where they speak of every name
        the question gives (any term of X, in any passage there)?"""
        where = self._where(q)
        return any(where[self.term_chunks(t)].any() for t in q.about)

    def _names(self, q: Question) -> list[Term]:
        """The question's names (not years) that gate and that some document mentions."""
        return [t for t in q.subjects if t.gates and len(self.term_chunks(t))]

    def _where(self, q: Question) -> np.ndarray:
        """The passages that speak of every name the question gives (all, if it gives none)."""
        names = self._names(q)
        return np.logical_and.reduce([self.scope(t) for t in names]) if names else np.ones(self.n, dtype=bool)

    def holds_about(self, q: Question, text: str, hit: Hit) -> bool:
        """Does the sentence speak of a follow-up's "what about X" (any term of X)?"""
        found, position = stems(text), self.index.position(hit.chunk_id)
        return any(self._holds(t, text, found, position) for t in q.about)

    def term_weights(self, q: Question) -> dict[tuple[str, ...], float]:
        """The rarity (idf) of each of the question's terms that some document has."""
        if q.text not in self._weights:
            self._weights[q.text] = {t.words: self.idf(self.term_chunks(t)) for t in q.terms
                                     if t.words[0] not in GLUE and len(self.term_chunks(t))}
        return self._weights[q.text]

    def held(self, q: Question, texts: list[str], passages: list[Hit]) -> list[frozenset[tuple[str, ...]]]:
        """For each sentence (from the passage beside it), the question's terms it holds
        (`_holds`), among those some document has."""
        weights = self.term_weights(q)
        out = []
        for text, hit in zip(texts, passages):
            found, position = stems(text), self.index.position(hit.chunk_id)
            out.append(frozenset(t.words for t in q.terms if t.words in weights and self._holds(t, text, found, position)))
        return out

    def support(self, q: Question, held: list[frozenset[tuple[str, ...]]]) -> np.ndarray:
        """The share of the question's terms, weighted by rarity, that each sentence holds."""
        weights = self.term_weights(q)
        total = sum(weights.values()) or 1.0
        return np.array([sum(weights[w] for w in terms) / total for terms in held])

    def _holds(self, term: Term, text: str, text_stems: frozenset[str], position: int) -> bool:
        """Does this sentence hold the term: a word or year in it, a name in it, in its passage,
        or as what its document is about?"""
        if term.is_year:
            return term.text in text
        if term.named:
            return self.covered(term, [position]) or self.says(term, text_stems)
        return self.says(term, text_stems)

    def scope(self, term: Term) -> np.ndarray:
        """Which passages speak of a name: those mentioning it, the ones next to them on the same
        page or section (a passage goes on about what the one before it named), and every
        passage of a document that is about it."""
        key = term.words
        if key not in self._scopes:
            found = self.term_chunks(term)
            mark = np.zeros(self.n, dtype=bool)
            mark[found] = True
            for p in found:
                for near in (p - 1, p + 1):
                    if 0 <= near < self.n and _same_block(self.index.chunks[near], self.index.chunks[p]):
                        mark[near] = True
            for doc in {self.index.chunks[p].doc_id for p in found}:
                if self._topic_of(found, doc):
                    lo, hi = self.index.doc_range(doc)
                    mark[lo:hi] = True
            self._scopes[key] = mark
        return self._scopes[key]

    def unspoken(self, q: Question) -> tuple[str, ...]:
        """(names, word): what the question asks a figure of, where the documents never speak of
        it where they speak of every name the question gives: no passage does (a measure: "the
        GDP of <a country>"), or, for a count or an amount, no sentence does beside a figure
        ("the suicide rate in <a country>" from documents whose passages on that country never
        mention suicide, or never with a rate)."""
        names = self._names(q)
        if not q.counted or not names:
            return ()
        where = self._where(q)
        # The rarest of its words says most what is asked of ("insurers" in "commercial insurers").
        word = max(q.counted, key=lambda w: self.idf(self.chunks_with(w)))
        return () if self._spoken(word, where, q.kind) else (join([t.text for t in names], "and"), word)

    def _spoken(self, word: str, where: np.ndarray, kind: str | None) -> bool:
        term = _word(word)
        found = [int(p) for p in self.term_chunks(term) if where[p]]
        if kind not in ("number", "money") or not found:
            return bool(found)
        figure = MONEY if kind == "money" else FIGURE
        for p in found:
            for sentence in _SENTENCE.split(self.index.chunks[p].text):
                if figure.search(sentence) and self.says(term, stems(sentence)):
                    return True
        return False

    def says(self, term: Term, sentence: frozenset[str]) -> bool:
        """Does a sentence (its stems) speak of the term: all the stems of the term, of another
        form of the place it names, or (an acronym) of the words it stands for?"""
        if term.words not in self._forms:
            forms = [stems(" ".join(term.key_words))] + [stems(f) for f in places().forms(term.text)]
            spelled = self._spelled(term.words[0]) if term.is_acronym else None
            if spelled:
                forms.append(stems(" ".join(spelled)))
            self._forms[term.words] = [f for f in forms if f]
        return any(form <= sentence for form in self._forms[term.words])

    def _missing_focus(self, q: Question, quoted: list[str], quoted_stems: list[frozenset[str]]) -> float:
        """What a figure is asked of ("psychiatrists"), if no quoted sentence with a figure names
        it: the share of those words (weighted by rarity) that no quoted sentence with a figure holds."""
        if not q.counted or q.kind not in ("number", "money", None):
            return 0.0
        with_figure = [s for text, s in zip(quoted, quoted_stems) if FIGURE.search(text)]
        rarity = {w: self.idf(self.chunks_with(w)) for w in q.counted}
        lacking = [v for w, v in rarity.items() if not any(self.says(_word(w), s) for s in with_figure)]
        return sum(lacking) / (sum(rarity.values()) or 1.0)

