"""Follow-up questions: name what 'it' or 'their' refers to, so the follow-up stands alone.

"And how many members does it have?" after "When was Health Systems Global founded?" becomes
"How many members does Health Systems Global have?". That rewritten question is what is
searched, judged answerable or not, and kept as the conversation's last turn, so a second
follow-up keeps the subject. A follow-up that names its own subject ("and what is the capital
of France?") is taken as it is: the previous turn does not make it answerable.
"""
from __future__ import annotations

import re

from chatbot.terms import question_terms

_OPENER = re.compile(r"^\s*(?:and|but|also|so|ok(?:ay)?|then|and then|now)\b[\s,]*", re.I)
_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*\??\s*$", re.I)
_PRONOUN = re.compile(r"\b(it|its|they|their|them|theirs)\b", re.I)


def _subject(previous: str) -> str | None:
    """The last named term of the previous question (a name, place, organisation or acronym)."""
    named = [t.text for t in question_terms(previous) if t.named and not t.is_year]
    return named[-1] if named else None


def resolve(question: str, previous: str | None) -> str:
    """The question as it is searched and judged: `question` itself unless it leans on `previous`."""
    question = question.strip()
    if not previous:
        return question
    previous = previous.strip()
    about = _WHAT_ABOUT.match(question)
    if about:  # "What about pensioners?": the previous question, asked of something else
        return f"{previous.rstrip('?. ')}: what about {about.group(1)}?"
    opened = _OPENER.match(question)
    tail = question[opened.end():] if opened else question
    rest = tail[:1].upper() + tail[1:]
    own = [t for t in question_terms(rest) if t.named and not t.is_year]
    if own:  # it names its own subject: a new question, whatever it starts with
        return question
    subject = _subject(previous)
    if _PRONOUN.search(rest) and subject:
        def name(m: re.Match[str]) -> str:
            return f"{subject}'s" if m.group(1).lower() in ("its", "their", "theirs") else subject
        return _PRONOUN.sub(name, rest, count=1)
    if opened or len(rest.split()) <= 4 or _PRONOUN.search(rest):
        # "And in 2020?", "Why?": too short to stand alone; the previous question says what about.
        return f"{previous.rstrip('?. ')}: {tail}"
    return rest
