"""A question, analysed once: the terms it is about (names, places, acronyms, years, content
words), the kind of answer it asks for, the office whose holder it asks for, what a figure it
asks for counts, and the stems its words are matched by. Every later stage reads this value
(retrieval's pool, sentence choice, tables, answerability, follow-ups) instead of parsing again.

The rules here state general facts about English questions, each with its reason; the word
lists they use are data files (ingest.lexicon).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest.lexicon import (CONNECTIVES, FUNCTION_WORDS, LIGHT_VERBS, OFFICES_ASKED, POSSESSIVE,
                            QUESTION_WORDS, TOKEN, YEAR, is_year, places, stems)

GLUE = FUNCTION_WORDS | CONNECTIVES  # never what a question is about
# Words that join the parts of a name: "Doctors for Peace", "Counselling in Primary Care"; but
# not before a place ("the World Cup in Brazil" is two names, see _terms). "and" does not: "between
# Lima and Quito" names two places.
_NAME_JOINERS = frozenset({"for", "of", "in", "on", "de", "da", "do", "du", "del", "la", "the"})

# A conversational opener ("And ...", "So, ...", "OK then ..."): not part of what is asked.
OPENER = re.compile(r"^\s*(?:and then|and|but|also|so|ok(?:ay)?|then|now)(?:\s*,\s*|\s+)", re.I)

# How a follow-up "What about X?" is searched: the previous question, then this, then X; the
# answer must then speak of X (Question.about).
ABOUT = ": what about"
_ABOUT = re.compile(re.escape(ABOUT) + r"\s+(.+?)\s*\??\s*$", re.I)

# The words of asking for a figure, each written once: shares, rates and measures; amounts;
# nouns and verbs of money; how common something is.
_SHARES = "share|percent|percentage|proportion|fraction"
_RATES = _SHARES + "|rate|rates|coverage|prevalence|incidence|density|ratio"
_AMOUNTS = "number|amount|level|size"
_MONEY_NOUNS = "cost|costs|price|fee|fees|budget|salary|salaries|wage|wages"
_MONEY_VERBS = "charge|charged|pay|paid|pays|spend|spent|spends|earn|earns|invest|invested"
_FREQUENCY = "common|prevalent|widespread|frequent"
_BE = "is|was|are|were"

# The kind of answer asked for. Each pattern is how English asks for it.
_WHEN = re.compile(r"^\s*(?:when|(?:in |since |by )?(?:what|which) year|since when|by when)\b", re.I)
_HOW_MANY = re.compile(rf"\b(?:how (?:many|much|often|long|large|big|high|low|{_FREQUENCY})|"
                       rf"what (?:{_SHARES}|{_AMOUNTS}|rate)|how much of)\b", re.I)
# "What is the suicide rate ...", "what was measles vaccination coverage ...": a figure.
_RATE = re.compile(rf"^\s*what (?:{_BE})\b.*\b(?:{_RATES})\b", re.I)
_MONEY = re.compile(rf"\b(?:how much|what)\b.*\b(?:{_MONEY_NOUNS}|{_MONEY_VERBS})\b", re.I)
# "how much of the list is paid for" asks a share, not an amount of money
_SHARE = re.compile(rf"\b(?:{_SHARES})\b|\bhow much of (?!an? )", re.I)
_WHY = re.compile(r"^\s*(?:why|for what reason|what (?:caused|explains|drove|led to))\b|"
                  r"\bhow (?:has|have|did|does|do)\b.*\b(?:benefit|help|affect|improve|reduce|change)", re.I)
# "Who is the Minister of Health?": asks for the person holding an office. Only articles,
# modifiers, names and possessives stand between "who is" and the office, so "Who is eligible
# for the Minister's scheme?" asks for no person.
_OFFICE = re.compile(rf"^\s*(?i:who (?:{_BE}|has been)) (?:(?:the|a|an|its|their|current|present|new|"
                     r"former|acting|deputy|[A-Z][\w-]*|[\w-]+['’]s) ){0,4}(?i:(" +
                     "|".join(sorted((re.escape(o) for o in OFFICES_ASKED), key=len, reverse=True)) + r"))\b")
# "Who chairs the board?" asks for a person as "Who is the chair of the board?" does.
_OFFICE_VERBS = {"chairs": "chair", "heads": "head", "leads": "leader", "directs": "director", "governs": "governor",
                 "presides over": "president"}
_OFFICE_VERB = re.compile(r"^\s*who (" + "|".join(_OFFICE_VERBS) + r")\b", re.I)
# What a figure is asked of: "how many <psychiatrists> per ...", "what share of <households>",
# "how common is <sickle cell disease>", "what is the <polio vaccination> coverage", "what is
# the <GDP> of ...". It ends at an auxiliary or a preposition.
_AUXILIARY = "do|does|did|are|is|were|was|have|has|had|can|could|will|would"
_COUNTED = re.compile(rf"\b(?:how many|(?:{_RATES}|{_AMOUNTS}|{_MONEY_NOUNS}) of|how (?:{_FREQUENCY}) (?:{_BE}))\s+"
                      rf"(?!(?:{_AUXILIARY})\b)(.+?)(?=\s+(?:{_AUXILIARY}|in|per|across|at|on|with|who|that|among|for|"
                      r"by|during|between)\b|[?,]|$)", re.I)
_MEASURED = re.compile(rf"\bwhat (?:{_BE}) (?:the )?(.+?)\s+(?:{_RATES}|{_MONEY_NOUNS})\b", re.I)
_MEASURE_OF = re.compile(rf"^\s*what (?:{_BE}) (?:the |its |their )?(.+?)\s+(?:of|in|for|among)\s", re.I)
# A past tense or participle ends what is counted ("how many insurers sold ..."): "-ed", or an
# irregular one (the light verbs' forms are in their list).
_PAST = re.compile(r"^(?:\w{3,}ed|sold|paid|spent|bought|built|held|led|met|won|lost|left|saw|seen|did|had|said|"
                   r"told)$", re.I)


# The kinds of answer that are a year, a figure or an amount: a sentence is seen to hold one
# (chatbot.answerable.holds_kind). A reason or a person has too many wordings to check.
FIGURE_KINDS = ("year", "number", "money")


@dataclass(frozen=True)
class Term:
    text: str  # as the question writes it: "Sri Lanka", "2018", "sourdough"
    words: tuple[str, ...]  # its words, lowercase, possessive 's dropped
    named: bool  # a name, acronym or year: an answer that never mentions it is not an answer

    @property
    def is_acronym(self) -> bool:
        return all(sum(ch.isupper() for ch in w) >= 2 for w in self.text.split())

    @property
    def is_year(self) -> bool:
        return len(self.words) == 1 and is_year(self.words[0])

    @property
    def describes(self) -> bool:
        """An adjective of place ("Japanese", "West African"): it describes rather than names."""
        place = places().find(self.text)
        return place is not None and place.is_demonym(self.text)

    @property
    def gates(self) -> bool:
        """A passage that never mentions it cannot answer: names and years. An acronym does not
        gate, as its passage may spell it out ("GP", "general practitioner"), nor does an
        adjective of place, which describes rather than names."""
        if self.is_year:
            return True
        return self.named and not self.is_acronym and not self.describes

    @property
    def key_words(self) -> tuple[str, ...]:
        """The words that carry it: joiners and function words dropped."""
        return tuple(w for w in self.words if w not in _NAME_JOINERS and w not in GLUE) or self.words


@dataclass(frozen=True)
class Question:
    text: str
    terms: tuple[Term, ...]  # in question order, each once
    kind: str | None  # "year", "number", "money", "reason", "person" or None
    office: str | None  # the office whose holder it asks for ("minister")
    counted: tuple[str, ...]  # what a figure it asks for is of ("psychiatrists", "polio vaccination")
    years: tuple[str, ...]  # the years it names
    words: frozenset[str]  # all its words, lowercase ("how", "many", "nurses")
    stems: frozenset[str]  # the stems of its terms' words, as the index stores them
    about: tuple[Term, ...] = ()  # a follow-up's "what about X": the terms of X, which the answer must hold

    @property
    def named(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.named)

    @property
    def content(self) -> tuple[Term, ...]:
        """Its other words: "salary", "psychiatrists" (one word each)."""
        return tuple(t for t in self.terms if not t.named)

    @property
    def subjects(self) -> tuple[Term, ...]:
        """What it names, years aside: what a follow-up's "it" may refer to."""
        return tuple(t for t in self.terms if t.named and not t.is_year)


@lru_cache(maxsize=4096)
def analyse(text: str) -> Question:
    """The question's terms, the answer kind asked for and the rest (a pure function of the text)."""
    opened = OPENER.match(text)
    if opened and opened.end() < len(text):
        rest = text[opened.end():]
        text = rest[:1].upper() + rest[1:]
    terms = _terms(text)
    office = _office(text)
    asked_about = _ABOUT.search(text)
    about = _terms(f"What about {asked_about.group(1)}?") if asked_about else ()
    return Question(text=text, terms=terms, kind=_kind(text, office), office=office, counted=_counted(text),
                    years=tuple(dict.fromkeys(YEAR.findall(text))),
                    words=frozenset(w.lower() for w in _tokens(text)[0]),
                    stems=stems(" ".join(w for t in terms for w in t.key_words)), about=about)


def _office(text: str) -> str | None:
    m = _OFFICE.search(text)
    if m:
        return m.group(1).lower()
    m = _OFFICE_VERB.search(text)
    return _OFFICE_VERBS[m.group(1).lower()] if m else None


def _kind(text: str, office: str | None) -> str | None:
    if office:
        return "person"
    if _WHEN.search(text):
        return "year"
    if _MONEY.search(text) and not _SHARE.search(text):
        return "money"
    if _HOW_MANY.search(text) or _RATE.search(text):
        return "number"
    return "reason" if _WHY.search(text) else None


def _counted(text: str) -> tuple[str, ...]:
    """The words naming what a figure is asked of: the first three after "how many" and the
    like, less names (judged on their own) and glue."""
    m = _COUNTED.search(text) or _MEASURED.search(text) or _MEASURE_OF.search(text)
    if not m:
        return ()
    words = re.findall(r"[^\W\d_][\w'’-]+", m.group(1))[:3]
    if words[:1] == ["times"]:  # "how many times a year": how often, not what is counted
        return ()
    # A verb ends what is counted: "how many insurers sold ...", "how many people got ...".
    verb = next((i for i, w in enumerate(words) if i and (w.lower() in LIGHT_VERBS or _PAST.search(w))), None)
    words = words[:verb]
    # Names are judged on their own; an acronym names a measure ("GDP") and counts.
    acronym = [sum(c.isupper() for c in w) >= 2 for w in words]
    return tuple(w if a else w.lower() for w, a in zip(words, acronym) if (a or not w[:1].isupper())
                 and w.lower() not in GLUE and w.lower() not in QUESTION_WORDS)


def _tokens(text: str) -> tuple[list[str], set[int]]:
    """The tokens, possessive 's dropped, and the positions of those that had one."""
    raw = TOKEN.findall(text)
    owners = {i for i, t in enumerate(raw) if POSSESSIVE.search(t)}
    return [POSSESSIVE.sub("", t).rstrip(".") for t in raw], owners


def _is_name_word(token: str, first: bool) -> bool:
    """Capitalised, an acronym or a year. A question's first word is capitalised anyway
    ("Roughly what share..."), so there it counts only as an acronym ("NATO", "OPEC")."""
    if is_year(token):
        return True
    # "I", "group D" and "X-ray" are not names, nor is an adjective made with an acronym
    # ("GP-referred", "HIV-positive")
    if not token[:1].isupper() or len(token) < 2 or re.match(r"[A-Z]-[A-Za-z]|[A-Z0-9]{2,}-[a-z]", token):
        return False
    acronym = sum(ch.isupper() for ch in token) >= 2
    if first and not acronym:
        return False
    return acronym or token.lower() not in GLUE


def _apart_places(run: list[str]) -> list[list[str]]:
    """A run of capitalised words, with the places in it set apart: "Chile ZHF" is the place
    "Chile" and the name "ZHF", "Zebra Chile Office" is "Zebra", "Chile" and "Office". A run that
    is all one place ("Sri Lanka", "West African") stays whole."""
    lowered = [w.lower() for w in run]
    if places().find(" ".join(lowered)):
        return [run]
    parts, start, i = [], 0, 0
    while i < len(run):
        end = next((e for e in range(len(run), i, -1) if places().find(" ".join(lowered[i:e]))), None)
        if end is None:
            i += 1
            continue
        parts += [run[start:i], run[i:end]]
        start = i = end
    parts.append(run[start:])
    return [p for p in parts if p and not all(w.lower() in _NAME_JOINERS for w in p)]


def _terms(text: str) -> tuple[Term, ...]:
    """Named terms (runs of capitalised words joined by 'of', 'for'...; acronyms; years) and
    content words, in question order, each once."""
    tokens, owners = _tokens(text)
    terms: list[Term] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        # A capitalised first word followed by another one starts a name ("Zebra Health Fund").
        opens_name = i == 0 and tok[:1].isupper() and tok.lower() not in QUESTION_WORDS | GLUE \
            and i + 1 < len(tokens) and _is_name_word(tokens[i + 1], first=False) and not is_year(tokens[i + 1])
        if _is_name_word(tok, first=i == 0) or opens_name:
            run = [tok]
            j = i + 1
            # A possessive ends a name: "Japan's Health Ministry" is two.
            while j < len(tokens) and j - 1 not in owners and not is_year(run[-1]):
                nxt = tokens[j]
                if _is_name_word(nxt, first=False) and not is_year(nxt):
                    run.append(nxt)
                    j += 1
                # ... but a place after "of" is a name of its own: "the GDP of Chile", "the
                # Ministry of Health of Chile" name Chile apart.
                elif (nxt.lower() in _NAME_JOINERS and j + 1 < len(tokens)
                      and _is_name_word(tokens[j + 1], first=False) and not is_year(tokens[j + 1])
                      and tokens[j + 1].lower() not in places().first_words):
                    run += [nxt, tokens[j + 1]]
                    j += 2
                else:
                    break
            terms += [Term(" ".join(part), tuple(w.lower() for w in part), True) for part in _apart_places(run)]
            i = j
            continue
        low = tok.lower()
        after_how = i > 0 and tokens[i - 1].lower() == "how"  # "how large", "how far": a question's words
        if (len(low) >= 3 or low.isdigit()) and low not in GLUE and low not in QUESTION_WORDS \
                and low not in LIGHT_VERBS and not after_how:
            terms.append(Term(tok, (low,), False))
        i += 1
    return tuple({t.words: t for t in reversed(terms)}[w] for w in dict.fromkeys(t.words for t in terms))
