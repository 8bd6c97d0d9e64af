"""Shared fixtures: a tiny corpus made on the spot (a real PDF, Markdown, text) and real indexes.

Everything is real: the packaged all-MiniLM-L6-v2 model, FAISS, BM25 and PDFs written with
fpdf2. The model loads once per process; each index below is built once per session.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the suite also runs from a checkout without `pip install -e`
    sys.path.insert(0, str(REPO))

import pytest  # noqa: E402

from index.settings import variables  # noqa: E402

# HPSR_* settings in the caller's shell (HPSR_MODE=dense, HPSR_INDEX=...) must not change what
# the tests measure or where they write. Only the product's variables are removed: the test
# knobs (HPSR_REQUIRE_BROWSER etc.) stay. The model export goes to the checkout's .hpsr/ (git
# ignores it), not the user's ~/.cache; uploads go to a library folder of this run.
for _var in variables():
    os.environ.pop(_var, None)
os.environ["HPSR_CACHE"] = str(REPO / ".hpsr" / "test-cache")
os.environ["HPSR_LIBRARY"] = tempfile.mkdtemp(prefix="hpsr-test-library-")

CORPUS = REPO / "corpus"
EVAL = REPO / "eval"  # the project's question sets: eval/dev (tuning) and eval/test (reporting)


def eval_questions(split: str, *names: str) -> list[dict]:
    """The questions of eval/<split>/<name>.jsonl for each name (all sets if none is named)."""
    from index.evaluate import load_questions

    files = sorted((EVAL / split).glob("*.jsonl"))
    return [q for f in files if not names or f.stem in names for q in load_questions(f)]

# Known sentences of the small corpus, and where they are.
PDF_TITLE = "Zebra Health Fund Annual Report"
PDF_HEADER = "Zebra Report 2024"
PDF_PAGES = [
    # Page 1: "informa-" / "tion" are two separate lines, so extraction gives "informa-\ntion".
    ["The Zebra Health Fund was created in 1999 to finance rural clinics.",
     "Its board publishes health informa-",
     "tion for every district each spring."],
    ["In 2021 the fund opened forty mobile dental units in the northern hills."],
    ["Volunteers from the Okapi Society audit the accounts once a year."],
]
# The header is repeated on all three pages: the loader only treats a line as page furniture
# when it is on 3+ pages (a 2-page document could repeat a real sentence), so the PDF has 3.

MD_TEXT = """# Okapi Field Guide

The okapi is a forest giraffe found only in the Ituri rainforest.

## Feeding Habits

Okapis eat the leaves of more than one hundred plant species, browsing at dawn.

## Conservation

The Okapi Wildlife Reserve protects about 14,000 square kilometres of forest.
"""

TXT_TEXT = """Lemur Clinic Network

The lemur clinic network serves twelve villages in the eastern valley of Madagascar.

Staffing

Each lemur clinic employs two nurses and one community health worker.
"""


def write_pdf(path: Path, pages: list[list[str]], title: str | None = None,
              header: str | None = None, user_password: str | None = None,
              big_heading: str | None = None, draw_only: bool = False) -> Path:
    """Write a real PDF: each page a list of lines; optional running header and 'Page n of N'."""
    from fpdf import FPDF

    total = len(pages)

    class _Pdf(FPDF):
        def header(self):
            if header:
                self.set_font("Helvetica", size=9)
                self.cell(0, 6, header, new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            if header:
                self.set_y(-15)
                self.set_font("Helvetica", size=9)
                self.cell(0, 6, f"Page {self.page_no()} of {total}")

    pdf = _Pdf()
    if title:
        pdf.set_title(title)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    for n, lines in enumerate(pages):
        pdf.add_page()
        if draw_only:
            pdf.rect(20, 30, 80, 40)
            continue
        if big_heading and n == 0:
            pdf.set_font("Helvetica", size=24)
            pdf.cell(0, 14, big_heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for line in lines:
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_small_corpus(folder: Path) -> Path:
    """The tiny corpus: a 3-page PDF, a Markdown file and a text file (a handful of chunks)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_pdf(folder / "zebra-report.pdf", PDF_PAGES, title=PDF_TITLE, header=PDF_HEADER)
    (folder / "okapi-guide.md").write_text(MD_TEXT, encoding="utf-8")
    (folder / "lemur-notes.txt").write_text(TXT_TEXT, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def make_pdf():
    """The PDF writer, for tests that need their own PDFs (see `write_pdf`)."""
    return write_pdf


@pytest.fixture(scope="session")
def make_small_corpus():
    """Writes a fresh copy of the small corpus into a folder (for tests that change files)."""
    return write_small_corpus


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A folder with the small corpus; shared, so tests must not modify it."""
    return write_small_corpus(tmp_path_factory.mktemp("small-corpus"))


@pytest.fixture(scope="session")
def small_index(small_corpus, tmp_path_factory) -> Path:
    """The small corpus indexed once (real model, FAISS, BM25); returns the index directory."""
    import index

    index_dir = tmp_path_factory.mktemp("small-index")
    report = index.build_index([small_corpus], index_dir=index_dir, progress=False)
    assert report.swapped and not report.skipped, report.summary()
    return index_dir


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Path:
    """The full bundled corpus (~820 chunks, ~40 s) indexed once per session; the index directory."""
    import index

    index_dir = tmp_path_factory.mktemp("corpus-index")
    report = index.build_index([CORPUS], index_dir=index_dir, progress=False)
    assert report.swapped and report.chunks > 0, report.summary()
    return index_dir
