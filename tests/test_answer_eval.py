"""The answer-level eval and the calibration: the question sets in the repo, the checks they
make (each shown to fail on a wrong answer), and the commands a user runs."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest

from chatbot.answer import answer
from chatbot.answerable import Thresholds, decide
from chatbot.calibrate import choose
from chatbot.cli import _sets, main
from chatbot.evaluate import is_verbatim
from conftest import CORPUS, EVAL, eval_questions
from index import Index
from index.evaluate import is_relevant

DOCS = {p.stem for p in CORPUS.iterdir() if p.suffix in (".pdf", ".txt")}


def test_the_question_sets_live_in_the_repo_and_cover_every_document():
    for split in ("dev", "test"):
        assert {f.stem for f in (EVAL / split).glob("*.jsonl")} == {"report", "pdfs", "tables", "out_of_scope",
                                                                    "follow_ups"}
        answerable = eval_questions(split, "report", "pdfs")
        assert {q["doc"] for q in answerable} == DOCS, f"{split}: a document has no questions"
        styles = Counter(q["style"] for q in answerable)
        assert styles["paraphrase"] >= 10 and styles["table"] >= 3, styles
        tables = eval_questions(split, "tables")
        assert len(tables) >= 10 and all(q["style"] == "table" and q.get("table") for q in tables)
    everything = eval_questions("dev") + eval_questions("test")
    ids = [q["id"] for q in everything]
    assert len(ids) == len(set(ids)), "question ids repeat"
    answerable = [q for q in everything if not q.get("expect_abstain") and not q.get("previous")]
    refuse = [q for q in everything if q.get("expect_abstain") and not q.get("previous")]
    assert len(answerable) >= 60 and len(refuse) >= 25, (len(answerable), len(refuse))
    assert sum(q["near"] for q in refuse) >= 0.8 * len(refuse), "most out-of-scope questions must be near the domain"


def test_every_follow_up_fact_is_in_the_bundled_index_at_its_page(corpus_index):
    idx = Index.load(corpus_index)
    for q in eval_questions("dev", "follow_ups") + eval_questions("test", "follow_ups"):
        if q.get("expect_abstain"):
            continue
        assert any(c.doc_id == q["doc"] and is_relevant(idx.hit(i, 0.0), q) for i, c in enumerate(idx.chunks)), q


def test_verbatim_check_catches_a_sentence_that_is_not_in_its_passage(corpus_index):
    a = answer(Index.load(corpus_index), "When was Health Systems Global founded?")
    assert is_verbatim(a)
    first = a.citations[0]
    forged = replace(first, passage=first.passage.replace("2012", "2013"))
    assert not is_verbatim(replace(a, citations=(forged,) + a.citations[1:])), "a changed passage went unnoticed"
    assert not is_verbatim(replace(a, text=a.text + " And also this. [1]")), "an invented sentence went unnoticed"
    assert not is_verbatim(replace(a, text="Uncited words. " + a.text)), "text outside the citations went unnoticed"


def _signals(similarity: float, sentence: float, **rules) -> dict:
    base = {"quotable": True, "any_hits": True, "absent_named": [], "unsupported_named": [], "typed": True,
            "wants": None, "focus": None, "absent_words": [], "absent_share": 0.0, "coverage": 1.0,
            "similarity": similarity, "sentence_similarity": sentence}
    return {**base, **rules}


def test_calibration_picks_thresholds_between_the_two_kinds_of_question():
    # Only the sentence similarity tells these apart (21 answerable, 5 out of scope).
    rows = [(f"a{i}", False, _signals(0.6, s)) for i, s in enumerate([0.55] + [0.6, 0.7, 0.8, 0.9] * 5)]
    rows += [(f"o{i}", True, _signals(0.6, s)) for i, s in enumerate([0.30, 0.35, 0.40, 0.45])]
    rows.append(("o-rule", True, _signals(0.9, 0.9, absent_named=["Japan"])))  # refused by a rule
    cal = choose(rows, slack=0)
    assert cal.abstained_right == 5 and cal.false_abstentions == 0, cal.table()
    assert 0.45 < cal.chosen.sentence_similarity <= 0.55, cal.chosen
    assert "HPSR_ABSTAIN_SENTENCE_SIMILARITY=" in cal.table()
    # One in 20 answerable questions may be refused (5 %), to refuse one more out of scope.
    rows.append(("o-hard", True, _signals(0.6, 0.56)))
    assert choose(rows, slack=0).abstained_right == 6 and choose(rows, slack=0).false_abstentions == 1
    assert choose(rows, max_false=0.0, slack=0).false_abstentions == 0
    # By default one refusal less than the best is as good: then the laxer point, which
    # refuses no answerable question here.
    lax = choose(rows)
    assert lax.abstained_right == 5 and lax.false_abstentions == 0, lax.table()
    assert lax.chosen.sentence_similarity <= 0.55, lax.chosen


def test_decide_gives_the_reason_of_the_first_rule_that_refuses():
    limits = Thresholds(0.3, 0.5, 0.0, 0.7)
    assert decide(_signals(0.8, 0.8), limits) == (True, "")
    assert decide(_signals(0.8, 0.8, absent_named=["Japan"]), limits)[1] == "No document mentions Japan."
    assert "do not mention Germany" in decide(_signals(0.8, 0.8, unsupported_named=["Germany"]), limits)[1]
    assert "no figure for psychiatrists" in decide(_signals(0.8, 0.8, typed=False, focus="psychiatrists",
                                                            wants="number"), limits)[1]
    assert "No document mentions sourdough or bread" in decide(
        _signals(0.8, 0.8, absent_words=["bake", "sourdough", "bread"], absent_share=1.0), limits)[1]
    assert "close enough" in decide(_signals(0.8, 0.4), limits)[1]
    assert decide(_signals(0.8, 0.4), Thresholds.off())[0]


QUESTIONS = [
    {"id": "z1", "question": "When was the Zebra Health Fund created?", "expect": ["created in 1999"],
     "doc": "zebra-report", "page": 1},
    {"id": "z2", "question": "How many mobile dental units did the fund open in 2021?",
     "expect": ["forty mobile dental units"], "doc": "zebra-report", "page": 2},
    {"id": "o1", "question": "What is the life expectancy at birth in Japan?", "expect_abstain": True},
]


def test_eval_answers_and_calibrate_commands(small_index, tmp_path, capsys):
    qs = tmp_path / "small.jsonl"
    qs.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    out = tmp_path / "rows.json"
    assert main(["--index", str(small_index), "eval", "--answers", str(qs), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fact" in printed and "abstain" in printed and "p50ms" in printed, printed
    (row,) = json.loads(out.read_text())
    assert row["questions"] == 3 and row["fact_in_answer"] == 1.0 and row["page_right"] == 1.0, row
    assert row["verbatim"] == 1.0 and row["abstain_right"] == 1.0 and row["false_abstain"] == 0.0, row
    assert row["non_prose_sentences"] == 0 and row["p50_ms"] > 0
    assert main(["--index", str(small_index), "calibrate", str(qs)]) == 0
    assert "HPSR_ABSTAIN_SIMILARITY=" in capsys.readouterr().out


def test_commands_default_to_the_sets_in_the_repo_and_say_when_one_is_missing(small_index, tmp_path, capsys):
    assert [f.parent for f in _sets("dev")] == [EVAL / "dev"] * 5
    assert main(["--index", str(small_index), "eval", "--answers", str(tmp_path / "nope.jsonl")]) == 2
    assert "question set(s) not found" in capsys.readouterr().err
