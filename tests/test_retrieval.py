"""Retrieval quality on the project's question sets: a relevant passage must be in the top 5.

One test per question (default hybrid mode, full bundled corpus), so each miss is visible
by its id. The sets live in eval/ (dev and test splits).
"""
from __future__ import annotations

import pytest

import index
from conftest import eval_questions
from index.evaluate import is_relevant

K = 5
QUESTIONS = eval_questions("dev", "report", "pdfs", "tables")
# Questions (mostly paraphrases) that the hybrid MiniLM + BM25 retriever does not rank in the
# top 5 yet (measured with `hpsr eval`). Listed, not hidden: each still runs, and an
# unexpected pass is reported, so the list shrinks as retrieval improves.
KNOWN_MISSES = {"pdf-d09", "pdf-d16", "pdf-d17", "pdf-d20", "pdf-d27", "pdf-d38", "pdf-d46",
                "pdf-t05", "pdf-t09", "pdf-t11", "pdf-t20", "tab-d03", "tab-d18", "pdf-s08"}


def _marked(questions: list[dict]) -> list:
    return [pytest.param(q, id=q["id"], marks=pytest.mark.xfail(
        reason="known top-5 miss, see README 'Retrieval'", strict=True, raises=AssertionError))
        if q["id"] in KNOWN_MISSES else pytest.param(q, id=q["id"]) for q in questions]


def test_eval_sets_are_present():
    assert len(QUESTIONS) >= 60, f"only {len(QUESTIONS)} answerable questions in eval/"


@pytest.fixture(scope="module")
def corpus(corpus_index) -> index.Index:
    idx = index.Index.load(corpus_index)
    assert idx.settings.mode == "hybrid", "the dev sets measure the default mode"
    return idx


@pytest.mark.parametrize("question", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_expected_passage_is_indexed(corpus, question):
    """Tells a retrieval miss from text lost in loading or chunking."""
    where = [i for i, c in enumerate(corpus.chunks) if c.doc_id == question["doc"]
             and is_relevant(corpus.hit(i, 0.0), question)]
    assert where, (f"{question['id']}: no chunk of {question['doc']} "
                   f"(page {question.get('page')}) contains {question['expect']}")


@pytest.mark.parametrize("question", _marked(QUESTIONS))
def test_relevant_passage_in_top_5(corpus, question):
    hits = corpus.search(question["question"], K)
    assert question.get("doc") in corpus.documents, f"expected document {question.get('doc')!r} not indexed"
    found = [rank for rank, h in enumerate(hits, 1)
             if is_relevant(h, question) and h.doc_id == question["doc"]]
    shown = "\n".join(f"  {rank}. {h.doc_id} p.{h.page} {h.score:.3f} {h.text[:90]!r}"
                      for rank, h in enumerate(hits, 1))
    want = f"{question['doc']}" + (f" p.{question['page']}" if question.get("page") else "")
    assert found, (f"{question['id']}: no passage containing {question['expect']} from {want} in "
                   f"the top {K} for {question['question']!r}; got:\n{shown}")
