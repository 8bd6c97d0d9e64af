"""The one tokenizer and lexicon (ingest.lexicon): BM25's tokens, the word lists and place tables
of ingest/data, and the patterns of years, figures and money."""
from __future__ import annotations

import re

import bm25s
import pytest
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from ingest import lexicon
from ingest.lexicon import DATA, FIGURE, MONEY, YEAR, is_year, places, stems, tokenize

TEXTS = ["The Zebra Health Fund was created in 1999 to finance rural clinics.",
         "Who's paying? 12.5% of X-ray costs, café Ñandú, 10 000 a b c — and members' fees (2019–2021).",
         ""]


def test_the_tokenizer_gives_bm25s_tokens_so_questions_match_the_index():
    theirs = bm25s.tokenize(TEXTS, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False,
                            show_progress=False)
    assert tokenize(TEXTS) == [list(t) for t in theirs]
    assert lexicon.STOPWORDS == frozenset(STOPWORDS_EN)
    assert stems("members Members member") == {"member"}


def test_every_data_file_names_its_source():
    for path in sorted(DATA.iterdir()):
        header = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
        assert header and re.search(r"(?i)source|written for", " ".join(header)), f"{path.name} names no source"


def test_places_know_their_other_names_and_adjectives():
    p = places()
    assert len(p.places) > 200
    assert p.find("Cape Verde") is p.find("Cabo Verdean") is p.find("cabo verde")
    assert p.find("the Netherlands").name == "Netherlands" and p.find("Dutch").name == "Netherlands"
    assert p.find("Ireland's") is p.find("Irish")
    assert p.find("Irish").is_demonym("Irish") and not p.find("Ireland").is_demonym("Ireland")
    assert p.find("Hanoi") is None and "Hanoi" in p.find("Viet Nam").capitals  # a capital is not the place
    assert p.find("Sourdough") is None
    assert "lisbon" in p.words and "minister" not in p.words


@pytest.mark.parametrize("text,year,figure,money", [
    ("In 2019 the fund grew.", True, True, False),
    ("It cost €7 per visit.", False, True, True),
    ("Up to eight sessions are free.", False, True, False),
    ("Fees are paid in escudos.", False, False, True),
    ("The programme won praise.", False, False, False),  # "won" is not the currency here
    ("Code 20190 is not a year.", False, True, False),
])
def test_what_a_year_a_figure_and_money_look_like(text, year, figure, money):
    assert bool(YEAR.search(text)) == year
    assert bool(FIGURE.search(text)) == figure
    assert bool(MONEY.search(text)) == money


def test_years():
    assert is_year("2019") and is_year("1990s") and not is_year("2200") and not is_year("19999")
