"""Tables read as tables: PDFs written here with fpdf2 (a two-level header, a table continued
under "Table 2. Contd", one broken over a page by itself), the bundled corpus's tables, and
answers that show a table's rows under its caption and header."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import index
from chatbot.answer import answer
from chatbot.evaluate import is_verbatim
from chatbot.render import answer_markdown, sources_markdown
from chatbot.question import analyse
from chatbot.table_answer import columns_asked
from conftest import CORPUS
from index.embedder import token_counter
from index.evaluate import normalize
from ingest import chunk_document, load_document
from ingest.tables import extract_tables

CENSUS = [("Northern Hills", "120", "3.5", "131", "3.8"), ("River Delta", "75", "1.2", "80", "1.3"),
          ("Eastern Plains", "44", "0.9", "52", "1.1")]
CLINICS = [(f"Clinic {n}", f"{10 + n} nurses", "Open" if n % 2 else "Closed") for n in range(1, 13)]


def _census(pdf) -> None:
    """Table 1: a two-level header (years over number and density), three districts."""
    pdf.cell(0, 8, "Table 1 Wombat census by district, 2021-2022", new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(40, 25, 25, 25, 25), text_align="CENTER", num_heading_rows=2) as t:
        r = t.row()
        r.cell("District", rowspan=2)
        r.cell("2021", colspan=2)
        r.cell("2022", colspan=2)
        r = t.row()
        for name in ("Number", "Density", "Number", "Density"):
            r.cell(name)
        for row in CENSUS:
            r = t.row()
            for c in row:
                r.cell(c)


def _clinics(pdf, rows, caption: str) -> None:
    pdf.cell(0, 8, caption, new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(50, 50, 40)) as t:
        r = t.row()
        for name in ("Clinic", "Staff", "Status"):
            r.cell(name)
        for row in rows:
            r = t.row()
            for c in row:
                r.cell(c)


@pytest.fixture(scope="module")
def table_pdf(tmp_path_factory) -> Path:
    """Page 1: prose, Table 1, prose, the first half of Table 2 at the foot of the page;
    page 2: "Table 2. Contd" with the rest, then prose."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 6, "The wombat census counts the animals of each district every year.")
    pdf.ln(2)
    _census(pdf)
    pdf.ln(4)
    pdf.multi_cell(0, 6, "Clinics are listed in Table 2 with their staff and whether they are open.")
    pdf.ln(40)
    _clinics(pdf, CLINICS[:6], "Table 2 Wombat clinics and their staff")
    pdf.add_page()
    _clinics(pdf, CLINICS[6:], "Table 2. Contd")
    pdf.ln(4)
    pdf.multi_cell(0, 6, "The census team thanks the district volunteers for their help.")
    path = tmp_path_factory.mktemp("tables") / "wombat-tables.pdf"
    pdf.output(str(path))
    return path


def test_a_two_level_header_becomes_one_name_per_column(table_pdf):
    doc = load_document(table_pdf)
    census = next(t for t in doc.tables if t.caption.startswith("Table 1"))
    assert census.caption == "Table 1 Wombat census by district, 2021-2022"
    assert census.header == ("District", "2021 · Number", "2021 · Density", "2022 · Number", "2022 · Density")
    assert census.rows == tuple(CENSUS) and census.pages == (1, 1, 1)
    assert census.row_text(0) == ("Northern Hills — 2021 · Number: 120; 2021 · Density: 3.5; "
                                  "2022 · Number: 131; 2022 · Density: 3.8")


def test_a_continued_table_is_joined_and_each_row_keeps_its_page(table_pdf):
    doc = load_document(table_pdf)
    clinics = [t for t in doc.tables if t.caption.startswith("Table 2")]
    assert len(clinics) == 1, [t.caption for t in doc.tables]
    (table,) = clinics
    assert table.caption == "Table 2 Wombat clinics and their staff" and table.header == ("Clinic", "Staff", "Status")
    assert table.rows == tuple(CLINICS), "the repeated header or a row went missing"
    assert table.pages == (1,) * 6 + (2,) * 6


def test_table_text_is_not_indexed_twice_as_prose(table_pdf):
    doc = load_document(table_pdf)
    prose = " ".join(b.text for b in doc.blocks)
    assert "wombat census counts the animals" in prose and "thanks the district volunteers" in prose
    assert "Northern Hills" not in prose and "Clinic 7" not in prose and "131" not in prose, prose
    chunks = chunk_document(doc, token_counter(), 192, 32)
    tables = [c for c in chunks if c.kind == "table"]
    assert tables and all(c.table is not None and c.section == c.table.caption for c in tables)
    assert all(token_counter()(c.text) <= 192 for c in tables)
    rows = [row for c in tables for row in c.table.rows]
    assert rows == list(CENSUS) + list(CLINICS), "every row in exactly one chunk, in order"
    assert all(c.text == "\n".join(c.table.row_text(i) for i in range(len(c.table.rows))) for c in tables)


def test_a_table_broken_over_a_page_by_itself_is_joined(tmp_path):
    """No "Contd" caption: the table runs to the foot of page 1 and goes on at the top of page 2,
    where fpdf2 repeats its header row."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 6, "A long list of clinics follows in Table 4.")
    rows = [(f"Clinic {n}", f"{n} nurses", "Open") for n in range(1, 61)]
    _clinics(pdf, rows, "Table 4 Every wombat clinic")
    pdf.output(str(tmp_path / "long.pdf"))
    (table,) = load_document(tmp_path / "long.pdf").tables
    assert table.rows == tuple(rows) and table.pages[0] == 1 and table.pages[-1] == 2


def test_a_page_whose_tables_fail_keeps_its_text_and_says_so(table_pdf, monkeypatch):
    import ingest.tables

    def broken(*args, **kwargs):
        raise ValueError("damaged table")

    monkeypatch.setattr(ingest.tables, "_read_page", broken)
    doc = load_document(table_pdf)
    assert not doc.tables
    assert any("tables on page(s) 1, 2 could not be read" in w for w in doc.warnings), doc.warnings
    assert "Northern Hills" in " ".join(b.text for b in doc.blocks), "the table's text was lost"


def test_the_table_pass_stops_at_its_time_limit(table_pdf, monkeypatch):
    import pypdf

    texts = [p.extract_text() for p in pypdf.PdfReader(str(table_pdf)).pages]
    found = extract_tables(table_pdf, texts, set(), deadline=time.monotonic() - 1)
    assert found.timed_out_at == 1 and not found.tables
    monkeypatch.setattr("ingest.pdf.MAX_TABLE_SECONDS", -1)
    doc = load_document(table_pdf)
    assert not doc.tables and any("time limit" in w for w in doc.warnings), doc.warnings
    assert "Northern Hills" in " ".join(b.text for b in doc.blocks)


# --- the bundled corpus ----------------------------------------------------------------------------

EXPECTED_TABLES = {  # caption start -> (pages, rows), checked by eye against the pages
    "who-ccs-cabo-verde-2024": {"Table 1 Progress in human resources": ({25}, 7),
                                "Table 2 CCS 2024–2028 alignment": ({43}, 2),
                                "Table 3 CCS 2023 results framework": ({48, 49, 50, 51, 52}, 10)},
    "financial-protection-portugal-2025": {"Table 1 Key dimensions": ({20}, 10),
                                           "Table 2 Changes to coverage policy": ({25, 26, 27}, 46),
                                           "Table 3 User charges": ({31, 32, 33}, 9),
                                           "Table 4 Gaps in coverage": ({35}, 3)},
    "phc-palliative-assessment-kosovo-2025": {"Table 1 Rapid assessment": ({10, 11, 12, 13, 14}, 22),
                                              "Table 2 Progress on primary care": ({27, 28}, 13)},
}


@pytest.fixture(scope="module")
def corpus_docs():
    return {p.stem: load_document(p) for p in sorted(CORPUS.glob("*.pdf"))}


def test_the_bundled_corpus_tables_are_found(corpus_docs):
    for doc_id, doc in corpus_docs.items():
        want = EXPECTED_TABLES.get(doc_id, {})
        assert len(doc.tables) == len(want), (doc_id, [t.caption for t in doc.tables])
        for start, (pages, n_rows) in want.items():
            (table,) = [t for t in doc.tables if t.caption.startswith(start)]
            assert set(table.pages) == pages and len(table.rows) == n_rows, (start, set(table.pages), len(table.rows))


def test_cells_of_the_bundled_tables(corpus_docs):
    def table(doc_id, start):
        return next(t for t in corpus_docs[doc_id].tables if t.caption.startswith(start))

    hrh = table("who-ccs-cabo-verde-2024", "Table 1")
    nurses = dict(zip(hrh.header, next(r for r in hrh.rows if r[0] == "Nurses")))
    assert nurses["2022 · Number"] == "935" and nurses["2019 · Rate/ 10 000"] == "15.5", nurses
    charges = table("financial-protection-portugal-2025", "Table 3")
    specialist = dict(zip(charges.header, next(r for r in charges.rows if r[0] == "Outpatient specialist visits")))
    assert specialist["Type and level of user charge"] == "Fixed co-payments: €7 per visit"
    assert charges.pages[-1] == 33 and charges.rows[-1][0] == "Inpatient care"
    progress = table("phc-palliative-assessment-kosovo-2025", "Table 2")
    assert dict((r[0], r[3]) for r in progress.rows)["Workforce"] == "Worsened"
    assert "co-payment" in " ".join(c for r in table("financial-protection-portugal-2025", "Table 2").rows for c in r)


# --- answers from a table ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def idx(corpus_index) -> index.Index:
    return index.Index.load(corpus_index)


def test_an_answer_from_a_table_shows_the_row_and_the_columns_asked_for(idx):
    a = answer(idx, "How many nurses were there in Cabo Verde in 2022?")
    assert not a.abstained, a.reason
    (c,) = a.citations
    assert c.table is not None and c.table.caption.startswith("Table 1 Progress in human resources")
    assert c.table.header == ("", "2022 · Number") and c.table.rows == (("Nurses", "935"),)
    assert c.table.pages == (25,) and c.hit.page == 25
    assert a.text == ("Table 1 Progress in human resources for health, Cabo Verde 2017–2022: "
                      "Nurses — 2022 · Number: 935 [1]")
    assert is_verbatim(a)
    md = answer_markdown(a)
    assert "| Nurses | 935 |" in md and "2022 · Number" in md and "p. 25" in md, md
    assert "| **Nurses** |" in sources_markdown(a), "the row quoted stands out in its table"


def test_a_column_is_asked_for_by_its_own_words_not_its_glue():
    header = ("Service", "Type and level of user charge", "Cap on user charges", "Exemptions")
    # "on" is in the question and in "Cap on user charges": that names no column.
    assert columns_asked(analyse("What is the limit on removable dental prostheses?"), header) == (1, 2, 3)
    assert columns_asked(analyse("Is there a cap for dental care?"), header) == (2,)
    assert columns_asked(analyse("What is the other charge?"), ("Service", "Other", "Total")) == (1,)  # "Other" is its name


def test_a_row_is_chosen_by_all_of_its_words(idx):
    # The fee for glucose meters is the 60th word of the row on medical products.
    a = answer(idx, "What fixed co-payment applies to glucose meters in Portugal?")
    assert not a.abstained and a.citations[0].table is not None, a.text
    assert "fixed co-payment: €53 for glucose meters" in normalize(a.text) and is_verbatim(a)


def test_the_verbatim_check_catches_a_changed_cell(idx):
    from dataclasses import replace

    from ingest.types import Table

    a = answer(idx, "What was the density of doctors per 10 000 population in Cabo Verde in 2019?")
    (c,) = a.citations
    assert c.table.rows == (("Doctors", "7.7"),) and is_verbatim(a), a.text
    forged = replace(c, table=Table(c.table.caption, c.table.header, (("Doctors", "7.9"),), c.table.pages))
    assert not is_verbatim(replace(a, citations=(forged,)))


def test_the_api_and_search_carry_the_table(idx, corpus_index, capsys):
    from chatbot.cli import main

    hits = idx.search("Table 3 user charges outpatient specialist visits fixed co-payments", 5)
    table_hit = next(h for h in hits if h.table is not None)
    assert table_hit.kind == "table" and table_hit.table.header[0] == "Service area"
    assert main(["--index", str(corpus_index), "search", "nurses 2022 Cabo Verde human resources", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert any(h["table"] and "Nurses" in [r[0] for r in h["table"]["rows"]] for h in found)
