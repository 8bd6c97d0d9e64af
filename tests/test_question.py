"""One question analysis (chatbot.question): what a question is about and what it asks for,
computed once and read by every later stage."""
from __future__ import annotations

import pytest

import chatbot.question as question
from chatbot.answer import answer
from chatbot.question import analyse
from index import Index


@pytest.mark.parametrize("text,kind,counted", [
    ("In which year did Chile make e-prescribing mandatory?", "year", ()),
    ("What is the suicide rate in Chile?", "number", ("suicide",)),
    ("What was measles vaccination coverage in Chile in 2023?", "number", ("measles", "vaccination")),
    ("What is the GDP of Chile?", None, ("GDP",)),  # an acronym names a measure
    ("How many commercial insurers sold health insurance in 2023?", "number", ("commercial", "insurers")),
    ("How many times a year does a typical person see a GP?", "number", ()),  # how often
    ("What is the average monthly salary of a nurse?", "money", ("nurse",)),
    ("and what is the capital of Chile?", None, ("capital",)),  # a conversational opener is not asked
])
def test_the_kind_of_answer_and_what_a_figure_is_of(text, kind, counted):
    q = analyse(text)
    assert (q.kind, q.counted) == (kind, counted)


def test_a_place_after_of_is_a_name_of_its_own():
    assert [t.text for t in analyse("What is the GDP of Chile?").named] == ["GDP", "Chile"]
    assert [t.text for t in analyse("Who chairs the Bank of Japan?").named] == ["Bank", "Japan"]  # both gate
    assert [t.text for t in analyse("What is the mission of Doctors for Peace?").named] == ["Doctors for Peace"]


def test_light_verbs_are_not_what_a_question_is_about():
    q = analyse("How many countries do the members come from?")
    assert [t.text for t in q.content] == ["countries", "members"]


def test_adjectives_of_place_describe_and_do_not_gate():
    terms = {t.text: t for t in analyse("What do Chilean and West African nurses earn in Chile?").terms}
    assert terms["Chilean"].describes and not terms["Chilean"].gates
    assert terms["West African"].describes and terms["Chile"].gates and not terms["Chile"].describes


def test_answer_analyses_a_question_once(corpus_index, monkeypatch):
    idx = Index.load(corpus_index)
    calls = []
    real = question._terms
    monkeypatch.setattr(question, "_terms", lambda text: calls.append(text) or real(text))
    question.analyse.cache_clear()
    answer(idx, "How many referrals were made to the counselling programme in 2024?")
    assert len(calls) == 1, calls
