"""Do the documents answer this? Evidence from several signals, and a reason in plain words.

The rules, in the order `decide` applies them (each gives the reader its reason):
- a name, place, organisation or acronym in the question that no document mentions: a
  question about Japan cannot be answered from documents that never name Japan;
- a name or place the quoted passages never mention, nor their document as a whole (a passage
  about Kosovo does not answer a question about Germany), or a year they do not give;
- most of the question's other words in no document at all ("sourdough", "bread");
- the kind of answer asked for missing from the quoted sentences: a year, a figure, an amount
  of money, a figure asked "of psychiatrists" from sentences that never name them, or the
  person holding an office asked about ("Who is the Minister ...?") from sentences that name
  the office but nobody in it;
- then thresholds (Settings, chosen by `hpsr calibrate`): the dense similarity of the question
  to the best passage and to the best quotable sentence, and how much of the question's words
  (weighted by rarity) the quoted passages hold.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from chatbot.terms import FUNCTION_WORDS, QUESTION_WORDS, Term, key_words, question_terms
from index import Hit, Index

# Other names for the same place or people, in either direction: a question may say "Cape Verde"
# or "Irish" where the documents say "Cabo Verde" or "Ireland".
VARIANTS = {
    "cape": ("cabo",), "irish": ("ireland",), "french": ("france",), "dutch": ("netherlands",),
    "swiss": ("switzerland",), "danish": ("denmark",), "swedish": ("sweden",), "finnish": ("finland",),
    "british": ("kingdom", "uk"), "uk": ("kingdom",), "welsh": ("wales",), "scottish": ("scotland",),
    "greek": ("greece",), "spanish": ("spain",), "czech": ("czechia",), "turkey": ("türkiye",),
    "turkish": ("türkiye",), "holland": ("netherlands",), "america": ("states", "usa"),
    "american": ("states", "usa"), "us": ("states", "usa"), "kosovar": ("kosovo",), "kosovan": ("kosovo",),
    "verdean": ("verde",), "eu": ("european", "union"), "who": ("world", "health", "organization"),
}
FOCUS_IDF = 2.5  # a word naming what a figure is of, rarer than this (in chunks), must be quoted
PREFIX = 5  # "Estonian" finds "Estonia", "Portuguese" finds "Portugal"
DOC_TOPIC_SHARE = 0.2  # a word in this share of a document's chunks is what the document is about


_WHEN = re.compile(r"^\s*(when|in what year|what year|since when)\b", re.I)
_HOW_MANY = re.compile(r"\b(how (many|much|often|long)|what (share|proportion|percentage|number|amount|"
                       r"rate|level|size)|how high|how low)\b", re.I)
# "Who is Ireland's Minister for Mental Health?": asks for the person holding an office. Only
# articles, modifiers, names and possessives stand between "who is" and the office, so "Who is
# eligible for the Minister's scheme?" asks for no person.
_OFFICE = re.compile(r"^\s*(?i:who (?:is|was|are|were|has been)) (?:(?:the|a|an|its|their|current|present|new|"
                     r"former|acting|deputy|[A-Z][\w-]*|[\w-]+['’]s) ){0,4}(?i:(minister|director(?:-general)?|"
                     r"president|head|chair(?:man|woman|person)?|secretary|commissioner|representative|ceo|mayor|"
                     r"governor|leader))\b")
_CAPITALISED = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+[A-ZÀ-ÖØ-Þ][\w'’.-]*)+")
# Capitalised words that name offices, bodies and places, or titles, not people.
_NOT_PERSON = frozenset("""minister ministry department office director general president head chair secretary
commissioner representative health national world organization organisation region regional europe european union
agency institute service services executive council government republic state states committee programme program
strategy plan primary care social public mental system systems global alliance policy research report who
northern southern eastern western new united kingdom ireland zealand africa african asia america americas
portugal kosovo cabo verde denmark israel dr prof mr mrs ms""".split())
_MONEY = re.compile(r"\b(how much|what)\b.*\b(cost|costs|charge|charged|pay|paid|pays|spend|spent|spends|"
                    r"price|fee|fees|budget|salary|salaries|wage|wages|earn|earns|invest|invested)\b", re.I)
_WHY = re.compile(r"^\s*(why|for what reason|what (caused|explains|drove|led to))\b|"
                  r"\bhow (has|have|did|does|do)\b.*\b(benefit|help|affect|improve|reduce|change)", re.I)
# What each kind of answer looks like in a sentence. "number" is lenient on purpose (it only
# refuses sentences with no figure at all); ranking prefers digits (chatbot.answer).
KIND_PATTERNS = {
    "year": re.compile(r"\b(1[89]|20)\d\d\b"),
    "number": re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                         r"thirty|hundred|thousand|million|billion|half|third|quarter|majority|minority|"
                         r"most|few|all|none)\b", re.I),
    "money": re.compile(r"[€$£¥]|\b(euros?|dollars?|pounds?|escudos?|USD|EUR|GBP|CVE)\b", re.I),
    "reason": re.compile(r"\b(because|due to|owing to|in response to|as a result|result(ed|s)? in|"
                         r"lead(s|ing)? to|led to|caus(e|ed|es|ing)|so that|in order to|since|thanks to|"
                         r"driven by|risk(s|ed)?|enabl(e|ed|es|ing)|ensur(e|ed|es|ing)|helped|reflect(s|ed)?)\b",
                         re.I),
}
# What a figure is asked of: "how many <psychiatrists> per ... does", "what share of <households>",
# "what is the <polio vaccination> coverage".
_COUNTED = re.compile(r"\b(?:how many|(?:share|proportion|percentage|number|amount) of)\s+(.+?)(?=\s+(?:do|does|did|"
                      r"are|is|were|was|have|has|had|can|could|will|would|in|per|across|at|on|with|who|that)\b|[?,]|$)",
                      re.I)
_MEASURED = re.compile(r"\bwhat (?:is|was|are|were) (?:the )?(.+?)\s+(?:rate|coverage|salary|salaries|wage|wages|cost|"
                       r"price|prevalence|incidence|density|ratio|budget)\b", re.I)


def names_holder(sentence: str, office: str) -> bool:
    """Does the sentence name the office and a person: two or more capitalised words that are not
    words of offices, bodies, places or titles ("Health Minister Stephen Donnelly", "André
    Trindade"; not "the Minister for Mental Health" or "Northern Ireland")?"""
    if not re.search(rf"\b{re.escape(office.split('-')[0])}", sentence, re.I):
        return False
    for m in _CAPITALISED.finditer(sentence):
        words = [re.sub(r"['’]s$", "", w.strip("'’.,")).lower() for w in m.group().split()]
        while words and (words[0] in _NOT_PERSON or words[0] in FUNCTION_WORDS):  # "The Health Minister ..."
            words.pop(0)
        if len(words) >= 2 and not any(w in _NOT_PERSON or w in FUNCTION_WORDS for w in words):
            return True
    return False


def counted_words(question: str) -> list[str]:
    """The words naming what a figure is asked of ("psychiatrists", "polio vaccination"): the
    first three after "how many" and the like, less names (judged on their own) and glue."""
    m = _COUNTED.search(question) or _MEASURED.search(question)
    if not m:
        return []
    words = re.findall(r"[^\W\d_][\w'’-]+", m.group(1))[:3]
    return [w.lower() for w in words
            if not w[:1].isupper() and w.lower() not in FUNCTION_WORDS and w.lower() not in QUESTION_WORDS]


def office_asked(question: str) -> str | None:
    """The office whose holder the question asks for ("minister" for 'Who is the Minister of ...?')."""
    m = _OFFICE.search(question)
    return m.group(1).lower() if m else None


def answer_kind(question: str) -> str | None:
    """The kind of answer asked for: "year" for 'when', "money" for 'how much does it cost',
    "number" for 'how many / what share', "reason" for 'why', "person" for 'who is the minister'."""
    if office_asked(question):
        return "person"
    if _WHEN.search(question):
        return "year"
    # "How much of the list is paid for" asks a share, not an amount of money.
    if _MONEY.search(question) and not re.search(r"\b(share|percent|percentage|proportion)\b|\bhow much of (?!an? )",
                                                 question, re.I):
        return "money"
    if _HOW_MANY.search(question):
        return "number"
    return "reason" if _WHY.search(question) else None


@dataclass(frozen=True)
class Thresholds:
    """When to abstain; the defaults live in Settings and come from `hpsr calibrate`."""

    similarity: float  # below this best-passage cosine the documents are taken not to answer
    sentence_similarity: float  # ...nor below this cosine between the question and its best sentence
    coverage: float  # abstain when the quoted passages hold less than this share of its content words
    absent_share: float  # abstain when this share of its content words (counted) is in no document

    @classmethod
    def off(cls) -> "Thresholds":
        """No threshold abstains (the rules on names and years still do): for calibration."""
        return cls(-1.0, -1.0, -1.0, 2.0)


@dataclass
class Verdict:
    answerable: bool
    reason: str = ""  # why not, for the reader: "No document mentions Japan."
    signals: dict = field(default_factory=dict)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class Judge:
    """Corpus lookups for one index: which chunks mention a word (cached by the index)."""

    def __init__(self, index: Index):
        self.index = index
        self.n = max(1, len(index.chunks))
        self._found: dict[str, np.ndarray] = {}

    def chunks_with(self, word: str) -> np.ndarray:
        if word not in self._found:
            found = self.index.mentions(word, prefix=PREFIX if len(word) > PREFIX else 0)
            for other in VARIANTS.get(word, ()):
                found = np.union1d(found, self.index.mentions(other))
            self._found[word] = found
        return self._found[word]

    def idf(self, word: str) -> float:
        return math.log((self.n + 1) / (len(self.chunks_with(word)) + 1))

    def in_corpus(self, term: Term) -> bool:
        return all(len(self.chunks_with(w)) for w in key_words(term))

    def covered(self, term: Term, positions: list[int]) -> bool:
        """Every key word of the term is in one of these chunks, or is what their document is about."""
        return all(self._word_covered(w, positions, doc_level=not term.is_year) for w in key_words(term))

    def _word_covered(self, word: str, positions: list[int], doc_level: bool = True) -> bool:
        found = self.chunks_with(word)
        if not len(found):
            return False
        if any((found == p).any() for p in positions):  # np.isin costs more on a few positions
            return True
        if not doc_level:
            return False
        for p in positions:
            lo, hi = self.index.doc_range(self.index.chunks[p].doc_id)
            inside = np.count_nonzero((found >= lo) & (found < hi))
            if inside >= DOC_TOPIC_SHARE * (hi - lo):
                return True
        return False

    def _in_text(self, word: str, stems: set[str]) -> bool:
        """Is `word` (stemmed, or a variant of it) among these stems? No prefix matching here:
        "psychiatric" services are not "psychiatrists"."""
        mine = self.index.generation.sparse.stems(word) | {v for alt in VARIANTS.get(word, ())
                                                            for v in self.index.generation.sparse.stems(alt)}
        return bool(mine & stems)

    def supports(self, terms: list[Term], hit: Hit) -> bool:
        """Does this passage (or its document) mention every name in the question? (Years are
        checked in the sentences quoted: a passage that names 2023 in passing is no better.)"""
        pos = [self.index.position(hit.chunk_id)]
        return all(self.covered(t, pos) for t in terms if t.gates and not t.is_year and self.in_corpus(t))

    def judge(self, question: str, hits: list[Hit], cited: list[Hit], quoted: list[str],
              sentence_similarity: float, limits: Thresholds) -> Verdict:
        """Answerable, or not and why, from the question, the passages the answer quotes and
        the sentences it quotes."""
        terms = question_terms(question)
        named = [t for t in terms if t.named]
        content = [t for t in terms if not t.named]
        similarity = max((h.similarity or 0.0 for h in hits), default=0.0)
        positions = [self.index.position(h.chunk_id) for h in cited]
        absent = [t.text for t in named if not self.in_corpus(t)]
        # Names must be in the quoted passages or be what their document is about; a year
        # asked about must be in the quoted passages themselves.
        unsupported = [t.text for t in named if t.gates and t.text not in absent and not self.covered(t, positions)]
        weights = {t.words[0]: self.idf(t.words[0]) for t in content}
        total = sum(weights.values()) or 1.0
        missing = [w for w in weights if not len(self.chunks_with(w))]
        # Counted, not weighted by rarity: a word no document uses gets the top weight, so one
        # everyday word ("jump") would outweigh the rest of a question the documents answer.
        absent_share = len(missing) / len(weights) if weights else 0.0
        coverage = (sum(weights[w] for w in weights if positions and self._word_covered(w, positions, False))
                    / total) if weights else 1.0
        said = self.index.generation.sparse.stems(" ".join(quoted))
        wants = answer_kind(question)
        # A year, a figure, an amount or an office holder is checked (a reason has too many
        # wordings to check).
        typed = wants not in ("year", "number", "money") or any(KIND_PATTERNS[wants].search(s) for s in quoted)
        office = office_asked(question)
        if office:  # the office named is not an answer: the person holding it is
            typed = any(names_holder(s, office) for s in quoted)
        # What a figure is asked of must be named where the figure is: "How many psychiatrists
        # ..." is not answered by a sentence on physicians. Common words ("people", "countries")
        # are too often paraphrased to count.
        counted = counted_words(question)
        telling = [w for w in counted if len(self.chunks_with(w)) and self.idf(w) >= FOCUS_IDF]
        focus = None
        if counted and not len(self.chunks_with(counted[0])):  # "polio vaccination": no document names polio
            focus, typed = counted[0], False
        elif telling and not any(self._in_text(w, said) for w in telling):
            focus, typed = max(telling, key=self.idf), False
        signals = {"similarity": round(similarity, 4), "sentence_similarity": round(sentence_similarity, 4),
                   "absent_named": absent, "unsupported_named": unsupported,
                   "absent_words": missing, "absent_share": round(absent_share, 4), "coverage": round(coverage, 4),
                   "wants": wants, "typed": typed, "focus": focus, "office": office,
                   "quotable": bool(cited), "any_hits": bool(hits)}
        ok, reason = decide(signals, limits)
        if not ok and hits:
            reason += f" The closest passages are from {_about(hits)}."
        return Verdict(ok, reason, signals)


def decide(signals: dict, limits: Thresholds) -> tuple[bool, str]:
    """(answerable, why not) from a question's signals: rules first, then the thresholds."""
    if signals["absent_named"]:  # the plainest reason, whatever the passages found are
        return False, f"No document mentions {_join(signals['absent_named'])}."
    if not signals["quotable"]:
        return False, ("None of the closest passages is running text that could be quoted (they "
                       "are reference lists, contents or figures)." if signals["any_hits"] else
                       "Nothing in the documents matches it.")
    if signals["unsupported_named"]:
        return False, f"The passages closest to the question do not mention {_join(signals['unsupported_named'])}."
    if signals["absent_share"] >= limits.absent_share and signals["absent_words"]:
        # Name the telling words ("football", "league"), not short ones like "won".
        telling = [w for w in signals["absent_words"] if len(w) >= 5] or signals["absent_words"]
        return False, f"No document mentions {_join(telling)}."
    if not signals["typed"]:
        if signals.get("office"):
            return False, f"The closest passages do not say who the {signals['office']} is."
        if signals.get("focus") and signals["focus"] in signals["absent_words"]:
            return False, f"No document mentions {signals['focus']}."
        if signals.get("focus"):
            return False, f"The closest passages give no figure for {signals['focus']}."
        wants = {"year": "a year", "number": "a figure", "money": "amount of money"}.get(signals["wants"], "answer")
        return False, f"The closest passages give no {wants} for this."
    if signals["similarity"] < limits.similarity:
        return False, f"No passage is close to the question (best similarity {signals['similarity']:.2f})."
    if signals["sentence_similarity"] < limits.sentence_similarity:
        return False, "No sentence of the closest passages is close enough to the question to answer it."
    if signals["coverage"] < limits.coverage:
        return False, "The closest passages share too little with the question to answer it."
    return True, ""


def _about(hits: list[Hit], n: int = 2) -> str:
    titles: list[str] = []
    for h in hits:
        if h.title not in titles:
            titles.append(h.title)
    titles = titles[:n]
    return " and ".join(f"“{t}”" for t in titles)
