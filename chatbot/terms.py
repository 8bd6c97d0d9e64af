"""The terms a question is about: names, places, organisations, acronyms and years (what the
answer must mention), and its other content words."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.kinds import FUNCTION_WORDS as _PROSE_GLUE

# Words that never say what a question is about: the function words of prose, and conjunctions
# and prepositions that list leaves out ("If Ireland opened ..." is not about "If Ireland").
FUNCTION_WORDS = _PROSE_GLUE | frozenset("""if since although though while whereas unless once given compared
according besides beyond across within apart unlike like""".split())

# Words that ask rather than say what about: they are never evidence that a passage fits.
QUESTION_WORDS = frozenset("""what which who whom whose when where why how whether did does do is
are was were can could should would will may might please tell give list name describe explain
compare according documents document report reports say says said mention mentioned much many
often long main kind per roughly approximately about around exactly typical typically average
usually themselves itself kinds type types way ways number numbers share proportion percentage amount
level levels rate rates figure figures key major happen happened happens known called mean means
current currently there here any ever yet still""".split())
# Words that join the parts of a name: "Results for Development", "Counselling in Primary Care".
# ("in" is not: "the World Cup in Cabo Verde" is two names.)
_NAME_JOINERS = {"for", "of", "and", "de", "da", "do", "the", "&"}
_TOKEN = re.compile(r"[^\W\d_][\w'’.-]*[\w]|[^\W\d_]|\d[\d,.]*\d%?|\d%?", re.UNICODE)
_DEMONYM = re.compile(r"..(an|ans|ese|ish)$")
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)s?$")


@dataclass(frozen=True)
class Term:
    text: str  # as the question writes it: "Cabo Verde", "2018", "sourdough"
    words: tuple[str, ...]  # its words, lowercase, possessive 's dropped
    named: bool  # a name, acronym or year: an answer that never mentions it is not an answer

    @property
    def is_acronym(self) -> bool:
        return all(sum(ch.isupper() for ch in w) >= 2 for w in self.text.split())

    @property
    def gates(self) -> bool:
        """A passage that never mentions it cannot answer: names and years. An acronym does not
        gate, as its passage may spell it out ("GP", "general practitioner"), nor does an
        adjective of place ("West African", "Estonian"), which describes rather than names."""
        if self.is_year:
            return True
        return self.named and not self.is_acronym and not _DEMONYM.search(self.words[-1])

    @property
    def is_year(self) -> bool:
        return len(self.words) == 1 and _YEAR.match(self.words[0]) is not None


def _tokens(text: str) -> tuple[list[str], set[int]]:
    """The tokens, possessive 's dropped, and the positions of those that had one."""
    raw = _TOKEN.findall(text)
    owners = {i for i, t in enumerate(raw) if re.search(r"['’]s$", t)}
    return [re.sub(r"['’]s$", "", t).rstrip(".") for t in raw], owners


def _is_name_word(token: str, first: bool) -> bool:
    """Capitalised, an acronym or a year. A question's first word is capitalised anyway
    ("Roughly what share..."), so there it counts only as an acronym ("WHO", "HSG")."""
    if _YEAR.match(token):
        return True
    if not token[:1].isupper() or len(token) < 2 or re.match(r"[A-Z]-[A-Za-z]", token):  # "I", "group D", "X-ray"
        return False
    acronym = sum(ch.isupper() for ch in token) >= 2
    if first and not acronym:
        return False
    return acronym or token.lower() not in FUNCTION_WORDS


def question_terms(question: str) -> list[Term]:
    """Named terms (runs of capitalised words joined by 'of', 'for'...; acronyms; years) and
    content words, in question order, each once."""
    tokens, owners = _tokens(question)
    terms: list[Term] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        # A capitalised first word followed by another one starts a name ("Health Systems Global").
        opens_name = i == 0 and tok[:1].isupper() and tok.lower() not in QUESTION_WORDS | FUNCTION_WORDS \
            and i + 1 < len(tokens) and _is_name_word(tokens[i + 1], first=False) and not _YEAR.match(tokens[i + 1])
        if _is_name_word(tok, first=i == 0) or opens_name:
            run = [tok]
            j = i + 1
            # A possessive ends a name: "Denmark's Lighthouse Life Science" is two.
            while j < len(tokens) and j - 1 not in owners:
                nxt = tokens[j]
                if _is_name_word(nxt, first=False) and not _YEAR.match(nxt) and not _YEAR.match(run[-1]):
                    run.append(nxt)
                    j += 1
                elif (nxt.lower() in _NAME_JOINERS and j + 1 < len(tokens)
                      and _is_name_word(tokens[j + 1], first=False) and not _YEAR.match(tokens[j + 1])
                      and not _YEAR.match(run[-1])):
                    run += [nxt, tokens[j + 1]]
                    j += 2
                else:
                    break
            terms.append(Term(" ".join(run), tuple(w.lower() for w in run), True))
            i = j
            continue
        low = tok.lower()
        if (len(low) >= 3 or low.isdigit()) and low not in FUNCTION_WORDS and low not in QUESTION_WORDS:
            terms.append(Term(tok, (low,), False))
        i += 1
    seen: set[tuple[str, ...]] = set()
    unique = []
    for t in terms:
        if t.words not in seen:
            seen.add(t.words)
            unique.append(t)
    return unique


def key_words(term: Term) -> tuple[str, ...]:
    """The words of a term that carry it: joiners and function words dropped."""
    return tuple(w for w in term.words if w not in _NAME_JOINERS and w not in FUNCTION_WORDS) or term.words
