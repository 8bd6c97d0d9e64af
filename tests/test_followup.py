"""Follow-ups made to stand alone, and the terms a question is about (pure functions)."""
from __future__ import annotations

import pytest

from chatbot.answerable import names_holder
from chatbot.followup import resolve
from chatbot.question import analyse


def question_terms(question: str):
    return analyse(question).terms

HSG = "When was Health Systems Global founded?"


@pytest.mark.parametrize("previous,question,resolved", [
    (HSG, "And how many members does it have?", "How many members does Health Systems Global have?"),
    (HSG, "and what are its working groups?", "What are Health Systems Global's working groups?"),
    ("What is the population of Kosovo?", "Who won their football league?", "Who won Kosovo's football league?"),
    # A follow-up that names its own subject is a new question: the previous turn adds nothing.
    (HSG, "and what is the capital of France?", "and what is the capital of France?"),
    (HSG, "What is the mission of Results for Development?", "What is the mission of Results for Development?"),
    # "What about X?": the previous question, asked of X.
    ("What share of households headed by older people experienced catastrophic spending?",
     "What about pensioners?",
     "What share of households headed by older people experienced catastrophic spending: what about pensioners?"),
    # A year or a place instead of the previous one: the previous question, narrowed or moved.
    ("How many referrals were made to CiPC in 2024?", "And in 2013?",
     "How many referrals were made to CiPC in 2013?"),
    ("How many nurses did Chile have in 2022?", "What about Norway?", "How many nurses did Norway have in 2022?"),
    ("What share of Chilean households face catastrophic spending?", "And in Norway?",
     "What share of Norwegian households face catastrophic spending?"),
    ("How many doctors work in primary care?", "And in Chile?", "How many doctors work in primary care in Chile?"),
    ("How many nurses did Chile have in 2022?", "what about the Chilean midwives?",
     "How many nurses did Chile have in 2022: what about the Chilean midwives?"),  # the same place
    ("How many doctors work in primary care in Chile?", "What is the highest mountain there?",
     "What is the highest mountain in Chile?"),
    # A short follow-up that asks something of its own is not the previous question narrowed.
    ("What is the suicide rate in Chile?", "What is Japan's GDP?", "What is Japan's GDP?"),
    ("What is the suicide rate in Chile?", "GDP of Japan?", "GDP of Japan?"),
    # Too short to stand alone: the previous question says what about.
    ("How many referrals were made to CiPC in 2024?", "And why?", "How many referrals were made to CiPC in 2024: why?"),
    (None, "How many members does it have?", "How many members does it have?"),
])
def test_resolve(previous, question, resolved):
    assert resolve(question, previous) == resolved


def test_a_second_follow_up_keeps_the_subject():
    first = resolve("And how many members does it have?", HSG)
    assert resolve("and when did they start?", first) == "When did Health Systems Global start?"


def test_question_terms_find_names_acronyms_and_years():
    terms = {t.text: t for t in question_terms("Who won the 2018 FIFA World Cup in Cabo Verde's capital?")}
    assert {"2018", "FIFA World Cup", "Cabo Verde"} <= set(terms)
    assert terms["2018"].is_year and terms["2018"].gates
    assert terms["Cabo Verde"].gates and terms["FIFA World Cup"].gates and not terms["capital"].named
    gp = {t.text: t for t in question_terms("How often do people in Ireland see a GP?")}["GP"]
    assert gp.named and not gp.gates  # an acronym does not gate: "general practitioner"
    # The first word of a question is capitalised anyway; names joined by "for" stay one name.
    terms = {t.text: t for t in question_terms("Roughly what is the mission of Results for Development?")}
    assert "Roughly" not in terms and terms["Results for Development"].named
    assert not {t.text: t for t in question_terms("Which West African country?")}["West African"].gates
    # A possessive ends a name: a passage on the Lighthouse initiative need not say "Denmark" in it.
    terms = {t.text for t in question_terms("How many partners does Denmark's Lighthouse Life Science initiative have?")}
    assert {"Denmark", "Lighthouse Life Science"} <= terms
    # A question opening with a conjunction: "If" does not start a name.
    terms = {t.text for t in question_terms("If Ireland opened the scheme to everyone, how many counsellors?")}
    assert "Ireland" in terms and "If Ireland" not in terms
    # "X-ray" is capitalised by its letter, not because it is a name.
    for xray in ("X-ray", "X-Ray"):
        assert not {t.text: t for t in question_terms(f"How many women in Kosovo get breast {xray} screening?")}[xray].named


@pytest.mark.parametrize("question,kind,counted", [
    ("When was Health Systems Global founded?", "year", []),
    ("How many psychiatrists per 100 000 people does Ireland have?", "number", ["psychiatrists"]),
    ("What is polio vaccination coverage among children in Kosovo?", "number", ["polio", "vaccination"]),
    ("How much does a GP visit cost in Ireland?", "money", []),
    ("How much of Kosovo's list of essential medicines is paid for by the system?", "number", []),  # a share
    ("What share of households in Portugal face catastrophic spending?", "number", ["households"]),
    ("Why do patients in Kosovo make informal payments?", "reason", []),
    ("Who is Portugal's current Minister of Health?", "person", []),
    ("Who took part in the virtual co-creation series?", None, []),
    ("Who is eligible for the Minister's free GP care scheme?", None, []),  # asks for no person
])
def test_the_kind_of_answer_asked_for(question, kind, counted):
    assert analyse(question).kind == kind
    assert list(analyse(question).counted) == counted


def test_an_office_is_answered_by_the_person_holding_it():
    assert names_holder("In 2023 the Minister of Health, Manuel Pizarro, announced a reform.", "minister")
    assert names_holder("Dr Tedros Adhanom Ghebreyesus, Director-General of WHO, wrote it.", "director-general")
    # The office without a person, and a person without the office, do not answer.
    assert not names_holder("It is a priority for the Department of Health and the Minister for Mental Health.",
                            "minister")
    assert not names_holder("The Office is grateful to André Trindade (Central Administration).", "minister")
    assert names_holder("Health Minister Stephen Donnelly launched it.", "minister")
    assert names_holder("Mary Butler is the Minister of State.", "minister")
    assert names_holder("The Minister of Health, Álvaro Santos, opened it.", "minister")
    assert not names_holder("The Minister visited Northern Ireland and New Zealand.", "minister")
    assert not names_holder("Medicines were administered by Beaumont Hospital staff.", "minister")  # not a word
    # A name far from the office, in a list of programmes, is not its holder.
    assert not names_holder("The Minister of Health presented the new national strategy, whose priorities are to "
                            "End Tuberculosis, Eliminate Malaria and Combat Cholera.", "minister")
