"""Follow-up questions: name what 'it' or 'their' refers to, so the follow-up stands alone.

"And how many members does it have?" after "When was the Zebra Health Fund founded?" becomes
"How many members does the Zebra Health Fund have?". That rewritten question is what is
searched, judged answerable or not, and kept as the conversation's last turn, so a second
follow-up keeps the subject. A follow-up that names its own subject ("and what is the capital
of Chile?") is taken as it is: the previous turn does not make it answerable.
"""
from __future__ import annotations

import re

from chatbot.question import ABOUT, OPENER, analyse
from ingest.lexicon import YEAR, places

_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*\??\s*$", re.I)
_PRONOUN = re.compile(r"\b(it|its|they|their|them|theirs)\b", re.I)
_THERE = re.compile(r"\bthere(?=\s*[?.!]*\s*$)", re.I)  # "... the highest mountain there?", not "is there"


def _subject(previous: str) -> str | None:
    """The last named term of the previous question (a name, place, organisation or acronym)."""
    named = analyse(previous).subjects
    return named[-1].text if named else None


def resolve(question: str, previous: str | None) -> str:
    """The question as it is searched and judged: `question` itself unless it leans on `previous`."""
    question = question.strip()
    if not previous:
        return question
    previous = previous.strip()
    about = _WHAT_ABOUT.match(question)
    opened = OPENER.match(question)
    tail = question[opened.end():] if opened else question
    if about or len(tail.split()) <= 4:
        narrowed = _narrow(previous, about.group(1) if about else tail)
        if narrowed:  # "And in 2020?", "What about Chile?": the previous question, of that year or place
            return narrowed
    if about:  # "What about pensioners?": the previous question, asked of something else
        return f"{previous.rstrip('?. ')}{ABOUT} {about.group(1)}?"
    rest = tail[:1].upper() + tail[1:]
    own = analyse(rest).subjects
    if own:  # it names its own subject: a new question, whatever it starts with
        return question
    subject = _subject(previous)
    if _THERE.search(rest) and subject:  # "What is the highest mountain there?"
        return _THERE.sub(f"in {subject}", rest)
    if _PRONOUN.search(rest) and subject:
        def name(m: re.Match[str]) -> str:
            return f"{subject}'s" if m.group(1).lower() in ("its", "their", "theirs") else subject
        return _PRONOUN.sub(name, rest, count=1)
    if opened or len(rest.split()) <= 4 or _PRONOUN.search(rest):
        # "And in 2020?", "Why?": too short to stand alone; the previous question says what about.
        return f"{previous.rstrip('?. ')}: {tail}"
    return rest


def _narrow(previous: str, tail: str) -> str | None:
    """The previous question with its year or place replaced by the one `tail` names (added
    when it had none), or None if `tail` names neither, or asks something of its own besides
    ("What is Japan's GDP?" is a question of its own)."""
    years = YEAR.findall(tail)
    asked = analyse(f"What about {tail}")  # (a first word is capitalised anyway: not a name there)
    if asked.content or len(asked.subjects) > 1:
        return None
    if years and not asked.subjects:
        old = YEAR.findall(previous)
        if old:
            return previous.replace(old[0], years[0], 1)
        return f"{previous.rstrip('?. ')} in {years[0]}?"
    named = [t for t in asked.subjects if places().find(t.text)]
    if len(named) == 1 and not years:
        new = places().find(named[0].text)
        for t in analyse(previous).subjects:
            place = places().find(t.text)
            if place == new:
                return None  # the same place: the follow-up narrows something else
            if place is not None:
                # The new place written as the old one was: a name, or an adjective.
                return previous.replace(t.text, new.adjective if place.is_demonym(t.text) else new.name, 1)
        return f"{previous.rstrip('?. ')} in {named[0].text}?"
    return None
