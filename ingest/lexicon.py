"""The words of English as every stage reads them: one tokenizer, one stemmer and stopword list
(the ones BM25 indexes with), the patterns of years, figures and money, and the word lists and
place tables of ingest/data (each file names its source in its header).

Nothing here names what a particular library is about: what the documents name comes from the
index; what the language says comes from here.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def word_list(name: str) -> frozenset[str]:
    """The words of a data file (ingest/data/<name>), lowercased; '#' lines are its header."""
    text = (DATA / name).read_text(encoding="utf-8")
    return frozenset(w.lower() for line in text.splitlines() if not line.startswith("#") for w in line.split())


FUNCTION_WORDS = word_list("function_words.txt")  # the glue of prose
CONNECTIVES = word_list("connectives.txt")  # "if", "since", "compared": never part of a name
QUESTION_WORDS = word_list("question_words.txt")  # words that ask rather than say what about
LIGHT_VERBS = word_list("light_verbs.txt")  # "get", "took": verbs that carry little content
NUMBER_WORDS = word_list("number_words.txt")  # "eight", "hundred", "third"
QUANTIFIERS = word_list("quantifiers.txt")  # "most", "a minority": a share without a figure
OFFICE_WORDS = word_list("offices.txt")  # capitalised words of offices, bodies and titles
OFFICES_ASKED = frozenset(line.strip().lower() for line in (DATA / "offices_asked.txt").read_text(encoding="utf-8")
                          .splitlines() if line.strip() and not line.startswith("#"))  # one office per line
_CURRENCY = sorted(word_list("currencies.txt"), key=len, reverse=True)

# Endings a place's adjective or people adds to its name, stripped to find the name ("Chilean"
# -> "Chile", "Omani" -> "Oman", "Bhutanese" -> "Bhutan").
DEMONYM_ENDINGS = ("ean", "ian", "an", "ese", "ish", "ar", "i", "n", "s")
# A year as documents and questions write it (1800-2099), optionally a decade ("1990s").
YEAR = re.compile(r"\b(?:1[89]\d\d|20\d\d)(?!\d)")
# A figure: digits, or a number word.
FIGURE = re.compile(r"\d|\b(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.I)
# An amount of money: a currency sign, code or name.
MONEY = re.compile("|".join(re.escape(c) if not c.isalpha() else rf"\b{c}\b" for c in _CURRENCY), re.I)
# Word tokens for analysis: words (with inner apostrophes, dots and hyphens: "X-ray", "Dr.",
# "Member's") and figures ("2 000", "12.5%").
TOKEN = re.compile(r"[^\W\d_][\w'’.-]*\w|[^\W\d_]|\d[\d,.]*\d%?|\d%?", re.UNICODE)
POSSESSIVE = re.compile(r"['’]s$")


def words(text: str) -> list[str]:
    """The word tokens of `text`, lowercase, as written (not stemmed): "X-ray", "group", "d"."""
    return [w.lower() for w in TOKEN.findall(text)]


def data_rows(name: str) -> list[list[str]]:
    """The rows of a tab-separated data file (ingest/data/<name>), its header row left out."""
    lines = [ln for ln in (DATA / name).read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    return [ln.split("\t") for ln in lines[1:]]


def is_year(token: str) -> bool:
    """A year or a decade, alone: "2019", "1990s"."""
    return YEAR.fullmatch(token[:-1] if token.endswith("s") else token) is not None


_local = threading.local()


def _stemmer():
    """This thread's stemmer (PyStemmer: Snowball English, so "members" matches "member"). A
    Stemmer must not be called from two threads at once, and the chat answers in several."""
    if not hasattr(_local, "stemmer"):
        import Stemmer

        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


# BM25's tokens: lowercased runs of two or more word characters (scikit-learn's and bm25s's
# pattern), less the stopwords, Snowball-stemmed. Written out here rather than calling
# bm25s.tokenize (which gives the same tokens: tests/test_lexicon.py checks it) because it is
# called per sentence, and so that analysing a question imports no search library.
_SPLIT = re.compile(r"(?u)\b\w\w+\b")


STOPWORDS = word_list("stopwords.txt")  # what BM25 leaves out


@lru_cache(maxsize=1 << 16)
def _stem_token(token: str) -> str:
    return _stemmer().stemWord(token)


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lowercased, stopword-free, stemmed word tokens: what the BM25 index stores, and what a
    question's words are matched against."""
    return [[_stem_token(t) for t in _SPLIT.findall(text.lower()) if t not in STOPWORDS] for text in texts]


def stems(text: str) -> frozenset[str]:
    """The stemmed, stopword-free tokens of `text`, as the index stores them."""
    return frozenset(tokenize([text])[0]) if text.strip() else frozenset()


def stem(word: str) -> str:
    """One word's stem ("members" -> "member"); the word itself if it is a stopword."""
    found = tokenize([word])[0]
    return found[0] if found else word.lower()


@dataclass(frozen=True)
class Place:
    name: str  # "Viet Nam"
    forms: tuple[str, ...]  # every way of writing it, lowercase: names, other names, demonyms
    demonyms: frozenset[str] = frozenset()  # the forms that describe: "vietnamese"
    capitals: tuple[str, ...] = ()  # its capital cities, as written: "Hanoi" (a city, not the place)

    def is_demonym(self, text: str) -> bool:
        return POSSESSIVE.sub("", text.strip()).lower() in self.demonyms

    @property
    def adjective(self) -> str:
        """Its adjective as a name is written ("Chilean"), or its name where the table gives none."""
        found = [f for f in self.forms if f in self.demonyms and not f.endswith("s")]
        return found[0].title() if found else self.name


class Places:
    """Countries and world regions (ingest/data/countries.tsv and regions.tsv): which words name
    the same place ("Viet Nam", "Vietnam", "Vietnamese")."""

    def __init__(self, places: list[Place]):
        self.places = places
        self._by_form = {f: p for p in places for f in p.forms}
        # every word of a place's names and of its capitals: never a person's name
        self.words = frozenset(w.lower() for p in places for f in p.forms + p.capitals for w in re.findall(r"[^\W\d_]+", f))
        self.first_words = frozenset(f.split()[0] for p in places for f in p.forms)

    @classmethod
    def load(cls, *names: str) -> "Places":
        out = []
        for name in names:
            for row in data_rows(name):
                cells = (row + ["", "", ""])[:4]
                forms = [cells[0]] + [f for c in cells[1:3] for f in c.split(";") if f.strip()]
                demonyms = frozenset(f.strip().lower() for f in cells[2].split(";") if f.strip())
                out.append(Place(cells[0].strip(), tuple(dict.fromkeys(f.strip().lower() for f in forms)),
                                 demonyms - {cells[0].strip().lower()},
                                 tuple(c.strip() for c in cells[3].split(";") if c.strip())))
        return cls(out)

    def find(self, text: str) -> Place | None:
        """The place `text` names ("Vietnamese" -> Viet Nam), if it names one."""
        key = POSSESSIVE.sub("", text.strip()).lower()
        return self._by_form.get(key) or self._by_form.get(re.sub(r"^the ", "", key))

    def forms(self, text: str) -> tuple[str, ...]:
        """Every form of the place `text` names, or () if it names none."""
        place = self.find(text)
        return place.forms if place else ()


@lru_cache(maxsize=1)
def places() -> Places:
    return Places.load("countries.tsv", "regions.tsv")
