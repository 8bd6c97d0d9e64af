"""What a stretch of text is (prose, references, contents, figures), what reads as an answer
sentence, and the PDF clean-up that keeps running titles and cut lines out of sentences.
The examples are lines of the bundled documents as pypdf extracts them."""
from __future__ import annotations

import pytest

from ingest.sentences import sentence_spans
from ingest.kinds import (CONTENTS, FIGURE, REFERENCES, TEXT, paragraph_kind, paragraph_spans,
                          reads_as_prose, span_kind)
from ingest.normalize import clean_title, strip_page_furniture, unwrap_lines

PROSE = [
    "In 2022 public spending on health accounted for 6.5% of GDP, similar to Italy (6.7%) and the EU27 "
    "average (6.5%) but lower than Spain (7.2%) and the EU14 average.",
    "Kosovo has a decentralized health-care system, where health authorities are responsible for health "
    "policy and regulation.",
    "HSG has designed and delivered six highly successful global symposia.",
]
NOT_PROSE = {
    REFERENCES: [
        "12. Obas KA, Gerold J, Bytyçi-Katanolli A, Jerliu N, Kwiatkowski M, Ramadani Q, et al. Study "
        "protocol: a prospective cohort on noncommunicable diseases. BMJ Open. 2020;10(9):e038889.",
        "Kasekamp K, Habicht T (2025). Using digital solutions to protect people from user charges for "
        "health care. Lessons from Estonia. Copenhagen: WHO Regional Office for Europe.",
        "Geneva: World Health Organization; 2018 (https://iris.who.int/handle/10665/1).",
    ],
    FIGURE: [
        "Fig. 9. Out-of-pocket payments as a share of household consumption by consumption quintile",
        "Source: authors, based on household budget survey data.",
        "600 400 200 800 0 1000 4th Richest 2nd Poorest Total 3rd € per person 2000 2005 2010 2015 2022",
    ],
    CONTENTS: ["Executive summary xii 1. Introduction 1 2. Methods 3 2.1 Financial hardship linked to "
               "out-of-pocket payments 4 2.2 Unmet need for health care 6"],
}


@pytest.mark.parametrize("text", PROSE)
def test_prose_is_text_and_reads_as_an_answer(text):
    assert paragraph_kind(text) == TEXT
    assert reads_as_prose(text)


@pytest.mark.parametrize("kind,text", [(k, t) for k, ts in NOT_PROSE.items() for t in ts])
def test_references_contents_and_figures_are_recognised_and_never_quoted(kind, text):
    assert paragraph_kind(text) == kind, text
    assert not reads_as_prose(text), text


@pytest.mark.parametrize("fragment", [
    "Each municipality has a network of",  # cut by a page edge: no full stop
    "• €18 (emergency department in main hospitals)",  # a bullet fragment
    "[1] All references to Kosovo in this document should be understood in the context of resolution 1244.",
    "COUNTRY COOPERATION STRATEGY 2024–2028 CABO VERDE COUNTRY COOPERATION STRATEGY 2024–2028.",
    "Households with catastrophic health spending by region 46",  # a contents line
    "Malaria incidence per 1000 population",  # a chart label
])
def test_fragments_do_not_read_as_answers(fragment):
    assert not reads_as_prose(fragment)


def test_a_list_item_that_is_a_clause_reads_as_prose_only_as_an_item():
    item = "ecosystem engagement: over 180 digital health projects were funded in 2024, involving 250 partners;"
    assert reads_as_prose(item, item=True) and not reads_as_prose(item)


def test_a_contents_page_and_a_reference_run_are_recognised_in_a_block():
    block = "Contents\n\nIntroduction 1\n\nObjectives of the mission 2\n\nApproach 2\n\nFindings 5\n\n" \
            "The mission found that primary care is underfunded in most municipalities."
    kinds = [k for _, _, k in paragraph_spans(block)]
    assert kinds[1:5] == [CONTENTS] * 4 and kinds[-1] == TEXT, kinds
    refs = "11. Jones I, Schneider E, Speigelman AJ.\n\nPolicy and the Social Sciences, Global Health\n\n" \
           "12. Obas KA, Gerold J, Ramadani Q. Study protocol. BMJ Open. 2020;10(9):e038889."
    spans = paragraph_spans(refs)
    assert [k for _, _, k in spans] == [REFERENCES] * 3, spans  # the wrapped middle line too
    assert span_kind(spans, 0, len(refs)) == REFERENCES


def test_a_section_headed_references_is_a_reference_list():
    assert paragraph_kind("World Health Organization. Primary care. 2019.", heading="References") == REFERENCES


def test_sentences_split_at_footnote_numbers_bullets_and_notes_but_not_abbreviations():
    text = ("There were 20 619 referrals (Fig. 2). It grew, e.g. in 2021.\nA heading line\nShort. "
            "Living in Europe.6 Each municipality has a centre. • the first list item; • the second item; "
            "• Co-payments from patients [1] All references to Kosovo are in context.")
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "There were 20 619 referrals (Fig. 2).", "It grew, e.g. in 2021.", "A heading line",
        "Living in Europe.6", "Each municipality has a centre.", "the first list item;", "the second item;",
        "Co-payments from patients", "[1] All references to Kosovo are in context."]


def test_a_contents_line_run_into_the_text_is_not_prose():
    assert not reads_as_prose("Message from the Minister of Health of Cabo Verde ................v Foreword by "
                              "the WHO Regional Director for Africa ......")
    assert reads_as_prose("Message from the Minister of Health of Cabo Verde, with a foreword by the Director.")


def test_a_word_ending_like_an_abbreviation_still_ends_its_sentence():
    # "ms.", "al.", "p.", "st." and "art." are abbreviations only as whole words.
    text = ("It has learning platforms. In response, a series was held. It is national. Each one is a group. "
            "They took part. It came first. See Fig. 3 and Smith et al. 2020 for the rest of it.")
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "It has learning platforms.", "In response, a series was held.", "It is national.", "Each one is a group.",
        "They took part.", "It came first.", "See Fig. 3 and Smith et al. 2020 for the rest of it."]


def test_a_long_line_cut_by_a_bad_paragraph_break_stays_one_sentence():
    text = ("Kosovo is divided into 38 municipalities with PHC services provided through a network of family "
            "medicine centres, often referred to as Qendra e Mjekësisë\n\nFamiljare. Each has a network.")
    first = [text[s:e] for s, e in sentence_spans(text)][0]
    assert first.endswith("Familjare.") and reads_as_prose(first)


def test_running_title_in_capitals_is_removed_even_inside_a_line():
    title = "COUNTRY COOPERATION STRATEGY 2024–2028 CABO VERDE"
    pages = [f"{n} {title}\nBody text of page {n} says something useful here.\nMore text." for n in range(10, 20)]
    pages[3] = (f"Nurses 754 15.3 770 15.7\n12 {title} {title} 13\nSource: Ministry of Health\n"
                f"The last line of the page is here.")
    pages[5] = f"xii {title} Cabo Verde is an archipelago of ten islands.\nMore.\nEnd."
    out = strip_page_furniture(pages)
    assert all(title not in p for p in out), out
    assert "Source: Ministry of Health" in out[3] and "Nurses 754 15.3 770 15.7" in out[3]
    assert "Cabo Verde is an archipelago of ten islands." in out[5]


def test_a_line_ending_on_a_joining_word_is_not_a_paragraph_end():
    page = ("Kosovo is administratively divided into 38 municipalities and each has a long line here\n"
            "Each municipality has a network of\n"
            "PHC, including one main centre and several affiliated family medicine centres.")
    assert "network of PHC, including" in unwrap_lines(page)


def test_titles_lose_their_footnote_marks():
    assert clean_title("Rapid assessment of primary health care in Kosovo[1]") == \
        "Rapid assessment of primary health care in Kosovo"
    assert clean_title("Report [ 2] on  things") == "Report on things"
