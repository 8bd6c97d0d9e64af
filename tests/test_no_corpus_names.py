"""No product code names what the bundled documents name: users bring their own libraries, so a
rule that knows this corpus's places, bodies or people fits this corpus and no other.

The names are read from the bundled corpus itself, as indexed (so they are not written here
either): the countries of ingest/data/countries.tsv that it mentions, in every form, with
their capitals; the acronyms it defines for capitalised names ("Zebra Health Fund (ZHF)");
and its other proper nouns: words it never writes in lower case that are not English words
(not whole words of the embedding model's vocabulary: "Health" and "Minister" are words,
a surname is not). Every string, comment and docstring of ingest/, index/ and chatbot/
(Python, and the viewer's page and script) is searched for them. The tests themselves may
name them: they ask the bundled corpus questions.
"""
from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO
from index import Index
from ingest.lexicon import Places

CODE = [p for root in ("ingest", "index", "chatbot") for p in sorted((REPO / root).rglob("*"))
        if p.suffix in (".py", ".js", ".html") and "data" not in p.relative_to(REPO).parts]
# Words of the trade that the corpus happens to write only with a capital (a file format, a
# section of a document, a journal's abbreviation that is also Python's file matching), and
# the language the code is written in and about.
GENERAL = {"PDF", "Abbreviations", "Glob", "english"}
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_DEFINED = re.compile(r"((?:[A-Z][\w'’-]*\s+(?:(?:of|for|in|and|the)\s+)?){2,8})\(([A-Z][A-Za-z]{1,9})\)")


def english_words() -> set[str]:
    from index.embedder import model_path

    vocab = (model_path() / "vocab.txt").read_text(encoding="utf-8").split()
    return {w for w in vocab if w.isalpha() and w.islower()}


def corpus_names(texts: list[str]) -> set[str]:
    """The places, defined acronyms and other proper nouns of these texts."""
    text = "\n".join(texts)
    words = _WORD.findall(text)
    lower = {w for w in words if w[:1].islower()}
    capitalised = Counter(w for w in words if w[:1].isupper() and not w.isupper())
    english = english_words()
    names = {w for w, n in capitalised.items()
             if n >= 2 and len(w) >= 4 and w.lower() not in lower and w.lower() not in english}
    for place in Places.load("countries.tsv").places:
        if len(re.findall(rf"(?i)\b{re.escape(place.name)}\b", text)) >= 2:
            names |= {f for f in place.forms if len(f) >= 4} | set(place.capitals)
    names |= {m.group(2) for m in _DEFINED.finditer(text) if sum(c.isupper() for c in m.group(2)) >= 2}
    return {n for n in names if n not in GENERAL}


def code_texts(path: Path):
    """(line, text) of every string, comment, docstring and name of a file (a page or script: all
    of it); a name's parts are split and written as names are ("LISBON_RATE" is "Lisbon Rate";
    "LOCK_UN" is not the acronym "UN")."""
    source = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        yield from enumerate(source.splitlines(), 1)
        return
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            yield tok.start[0], tok.string
        elif tok.type == tokenize.NAME:
            yield tok.start[0], tok.string.replace("_", " ").title()


def named_in(names: set[str], text: str) -> list[str]:
    """The names in `text`: places in any case ("kosovar" in a rule's word list), acronyms and
    other proper nouns as they are written ("WHO", not "who")."""
    lowered = {n for n in names if n.islower()}
    words = set(_WORD.findall(text))
    words |= {part for w in words for part in _CAMEL.sub(" ", w).split()}  # "AnnaSmith": both names
    found = [w for w in words if w in names or w.lower() in lowered]
    found += [n for n in names if " " in n and re.search(rf"(?i)\b{re.escape(n)}\b", text)]
    return sorted(set(found))


@pytest.fixture(scope="module")
def names(corpus_index) -> set[str]:
    idx = Index.load(corpus_index)
    found = corpus_names([c.text for c in idx.chunks] + sorted(set(c.title for c in idx.chunks)))
    # The corpus's own places and bodies are among them (else this test would pass on nothing).
    assert {"kosovo", "cabo verde", "hsg", "lisbon"} <= {n.lower() for n in found}, sorted(found)[:50]
    return found


def test_no_product_code_names_the_bundled_documents_places_bodies_or_people(names):
    hits = [f"{path.relative_to(REPO)}:{line}: {', '.join(found)}"
            for path in CODE for line, text in code_texts(path) for found in [named_in(names, text)] if found]
    assert not hits, "product code names what the bundled corpus names:\n" + "\n".join(hits)


def test_the_check_finds_a_name_planted_in_code(names, tmp_path):
    planted = tmp_path / "rule.py"
    planted.write_text('VARIANTS = {"kosovar": ("kosovo",)}  # a rule for one corpus\n')
    assert named_in(names, "".join(t for _, t in code_texts(planted))), "a planted corpus name went unnoticed"
    planted.write_text('EXAMPLE = "seen in KosovoHealth run together"\n')  # run into another word
    assert named_in(names, "".join(t for _, t in code_texts(planted))), "a corpus name run into a word went unnoticed"
    planted.write_text('def lisbon_region(): pass\n')  # in a name, too
    assert named_in(names, " ".join(t for _, t in code_texts(planted))), "a corpus name in an identifier went unnoticed"
    clean = tmp_path / "clean.py"
    clean.write_text('YEAR = r"(19|20)\\d\\d"  # a year looks like a year\n')
    assert not named_in(names, "".join(t for _, t in code_texts(clean)))
