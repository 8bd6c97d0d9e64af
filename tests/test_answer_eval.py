"""The answer-level eval and the calibration: the question sets in the repo, the checks they
make (each shown to fail on a wrong answer), and the commands a user runs."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from chatbot.answer import answer
from chatbot.calibrate import Row, fit
from chatbot.signals import FEATURES, Signals, Weights, decide
from chatbot.cli import _sets, main
from chatbot.evaluate import is_verbatim
from conftest import CORPUS, EVAL, eval_questions
from index import ConfigError, Index
from index.evaluate import is_relevant

DOCS = {p.stem for p in CORPUS.iterdir() if p.suffix in (".pdf", ".txt")}


def test_the_question_sets_live_in_the_repo_and_cover_every_document():
    assert {f.stem for f in (EVAL / "dev").glob("*.jsonl")} == {"report", "pdfs", "tables", "out_of_scope",
                                                              "follow_ups"}
    answerable = eval_questions("dev", "report", "pdfs")
    assert {q["doc"] for q in answerable} == DOCS, "a document has no dev questions"
    styles = Counter(q["style"] for q in answerable)
    assert styles["paraphrase"] >= 20 and styles["table"] >= 6, styles
    tables = eval_questions("dev", "tables")
    assert len(tables) >= 20 and all(q["style"] == "table" and q.get("table") for q in tables)
    everything = eval_questions("dev") + eval_questions("sealed") + eval_questions("generated")
    ids = [q["id"] for q in everything]
    assert len(ids) == len(set(ids)), "question ids repeat"
    dev = eval_questions("dev")
    answerable = [q for q in dev if not q.get("expect_abstain") and not q.get("previous")]
    refuse = [q for q in dev if q.get("expect_abstain") and not q.get("previous")]
    assert len(answerable) >= 120 and len(refuse) >= 45, (len(answerable), len(refuse))
    assert sum(q["near"] for q in refuse) >= 0.8 * len(refuse), "most out-of-scope questions must be near the domain"


def test_the_sealed_split_has_what_the_issue_asks_for():
    """Held out: only its shape is checked here, never how the chat does on it."""
    sealed = {name: eval_questions("sealed", name) for name in ("report", "pdfs", "tables", "out_of_scope",
                                                                 "follow_ups")}
    assert sum(q.get("near", False) for q in sealed["out_of_scope"]) >= 30
    assert len(sealed["pdfs"]) >= 20 and len(sealed["tables"]) >= 10 and len(sealed["follow_ups"]) >= 10
    assert {q["doc"] for q in sealed["report"] + sealed["pdfs"]} == DOCS
    def asked(q: dict) -> tuple[str, str]:  # a follow-up is its question after its previous one
        return q.get("previous", "").lower(), q["question"].lower()

    dev = {asked(q) for q in eval_questions("dev")}
    assert not [q for qs in sealed.values() for q in qs if asked(q) in dev], "a sealed question is in dev"


def test_every_generated_near_miss_has_its_answerable_twin_in_dev():
    dev = {q["id"]: q for q in eval_questions("dev")}
    generated = eval_questions("generated")
    assert len(generated) >= 100
    for q in generated:
        twin = dev[q["twin"]]
        assert q["expect_abstain"] and not twin.get("expect_abstain"), q
        assert q["question"] != twin["question"] and q["to"] in q["question"] and q["from"] in twin["question"], q


def test_every_follow_up_fact_is_in_the_bundled_index_at_its_page(corpus_index):
    idx = Index.load(corpus_index)
    for q in eval_questions("dev", "follow_ups"):
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


def _row(qid: str, refuse: bool, similarity: float, **rules) -> Row:
    return Row(qid, refuse, Signals(sentence_similarity=similarity, **rules), qid, "dev/x")


def test_calibration_fits_weights_that_refuse_what_the_signals_tell_apart():
    # Only the sentence similarity tells these apart (40 answerable, 20 out of scope, noisy).
    rng = np.random.default_rng(1)
    rows = [_row(f"a{i}", False, s) for i, s in enumerate(rng.normal(0.7, 0.06, 40))]
    rows += [_row(f"o{i}", True, s) for i, s in enumerate(rng.normal(0.45, 0.06, 20))]
    rows.append(_row("o-rule", True, 0.9, absent_names=("Japan",)))  # refused by a rule, not weighed
    cal = fit(rows, max_false=0.05)
    assert cal.weights.coef["sentence_similarity"] > 0, cal.table()
    refused = [r for r in rows if not decide(r.signals, cal.weights)[0]]
    assert sum(r.refuse for r in refused) >= 19, cal.table()
    assert sum(not r.refuse for r in refused) <= 2, "more than 5 % of the answerable questions refused"
    assert sum(not r.refuse for r in refused) <= sum(not r.refuse for r in refused
                                                     if r.signals.sentence_similarity < 0.6)
    # With no room for a false abstention, the threshold moves down (more lenient).
    strict = fit(rows, max_false=0.0)
    assert strict.weights.threshold <= cal.weights.threshold
    assert "out of fold" in cal.table() and "  sentence_similarity" in cal.table()


def test_weights_are_plain_numbers_that_round_trip(tmp_path):
    weights = Weights({n: i / 10 for i, n in enumerate(FEATURES)}, -0.5, 0.3, {n: 0.5 for n in FEATURES}, "test")
    path = tmp_path / "w.json"
    weights.save(path)
    assert json.loads(path.read_text())["features"] == list(FEATURES)  # JSON, readable, no pickle
    loaded = Weights.load(path)
    assert loaded.coef == pytest.approx(weights.coef) and loaded.typical == pytest.approx(weights.typical)
    assert (loaded.bias, loaded.threshold, loaded.fitted_on) == (weights.bias, weights.threshold, "test")
    stale = json.loads(path.read_text())
    del stale["coef"][FEATURES[0]]
    path.write_text(json.dumps(stale))
    with pytest.raises(ConfigError, match="make calibrate"):
        Weights.load(path)


def test_decide_gives_the_reason_of_the_first_rule_that_refuses_then_the_weakest_signal():
    weights = Weights({n: 0.0 for n in FEATURES} | {"sentence_similarity": 10.0}, -5.0, 0.5,
                      {n: 0.5 for n in FEATURES} | {"sentence_similarity": 0.7}, "test")
    good = Signals(sentence_similarity=0.8)
    assert decide(good, weights) == (True, "")
    assert decide(replace(good, absent_names=("Japan",)), weights)[1] == "No document mentions Japan."
    assert "do not mention Atlantis" in decide(replace(good, unsupported_names=("Atlantis",)), weights)[1]
    assert decide(replace(good, unspoken=("Atlantis", "psychiatrists")), weights)[1] == \
        "No passage about Atlantis mentions psychiatrists."
    assert decide(replace(good, other_years=("2023", "2020")), weights)[1] == \
        "The closest passages give figures for 2020, not 2023."
    assert "bake, sourdough or bread" in decide(Signals(absent_words=("bake", "sourdough", "bread")), weights)[1]
    ok, reason = decide(Signals(sentence_similarity=0.3), weights)
    assert not ok and reason.startswith("No sentence of the closest passages is close enough"), reason
    assert decide(Signals(sentence_similarity=0.3), Weights.off())[0]


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
    weights = tmp_path / "weights.json"
    assert main(["--index", str(small_index), "calibrate", str(qs), "--write", str(weights)]) == 0
    assert "refuse below" in capsys.readouterr().out and json.loads(weights.read_text())["coef"]


def test_commands_default_to_the_sets_in_the_repo_and_say_when_one_is_missing(small_index, tmp_path, capsys):
    assert [f.parent for f in _sets("dev")] == [EVAL / "dev"] * 5
    assert main(["--index", str(small_index), "eval", "--answers", str(tmp_path / "nope.jsonl")]) == 2
    assert "question set(s) not found" in capsys.readouterr().err
