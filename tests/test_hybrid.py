"""Hybrid search: the fusion functions, the BM25 index on disk, the eval metrics on hand-checked
examples, and hybrid beating each single mode on measured dev questions."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import index
from conftest import EVAL, eval_questions
from index.beir import evaluate_beir, load_beir, score_run
from index.evaluate import evaluate_dev, score_questions
from index.fusion import rrf, top, weighted
from index.search import Hit
from index.store import current_generation

# --- fusion ---------------------------------------------------------------------------------------


def test_rrf_sums_reciprocal_ranks():
    fused = rrf([[7, 3, 5], [3, 9]], k=60)
    assert fused[3] == pytest.approx(1 / 62 + 1 / 61)  # 2nd in one list, 1st in the other
    assert fused[7] == pytest.approx(1 / 61)
    assert fused[9] == pytest.approx(1 / 62)
    assert [i for i, _ in top(fused, 4)] == [3, 7, 9, 5]


def test_weighted_min_max_scales_each_list():
    dense = {1: 0.9, 2: 0.5, 3: 0.7}   # scaled: 1 -> 1.0, 2 -> 0.0, 3 -> 0.5
    sparse = {2: 12.0, 4: 2.0}         # scaled: 2 -> 1.0, 4 -> 0.0
    fused = weighted(dense, sparse, alpha=0.3)
    assert fused == pytest.approx({1: 0.3, 2: 0.7, 3: 0.15, 4: 0.0})
    assert weighted(dense, {}, alpha=0.3) == pytest.approx({1: 0.3, 2: 0.0, 3: 0.15})


def test_weighted_alpha_extremes_follow_one_list():
    dense, sparse = {1: 0.2, 2: 0.8}, {1: 5.0, 2: 1.0}
    assert [i for i, _ in top(weighted(dense, sparse, 1.0), 2)] == [2, 1]
    assert [i for i, _ in top(weighted(dense, sparse, 0.0), 2)] == [1, 2]


def test_top_breaks_ties_by_position():
    assert top({5: 1.0, 2: 1.0, 9: 3.0}, 3) == [(9, 3.0), (2, 1.0), (5, 1.0)]


# --- the BM25 index on disk -----------------------------------------------------------------------


def test_bm25_files_load_without_pickle(small_index):
    files = list((current_generation(small_index) / "bm25").glob("*.npy"))
    assert files, "no BM25 arrays saved beside the FAISS index"
    for f in files:
        np.load(f, allow_pickle=False)  # raises if anything needs unpickling


def test_bm25_is_rebuilt_incrementally_with_the_dense_index(tmp_path, make_small_corpus):
    docs = make_small_corpus(tmp_path / "docs")
    index.build_index([docs], index_dir=tmp_path / "index", progress=False)
    notes = docs / "lemur-notes.txt"
    notes.write_text("Capybara Census\n\nThe quokka census counted nine hundred animals near "
                     "the river delta in the dry season.\n", encoding="utf-8")
    report = index.build_index([docs], index_dir=tmp_path / "index", progress=False)
    assert report.changed == [str(notes)] and report.embedded < report.chunks, report.summary()
    idx = index.Index.load(tmp_path / "index")
    assert idx.search("quokka", 1, mode="bm25")[0].doc_id == "lemur-notes"
    # The old file's words are gone from BM25 too: no passage matches them any more.
    assert idx.generation.sparse.scores("twelve villages").max() == 0
    # Other documents are still found by exact words after the rebuild.
    assert idx.search("okapi", 1, mode="bm25")[0].doc_id == "okapi-guide"


# --- eval metrics on hand-checked examples ---------------------------------------------------------


def _hit(text: str, page: int | None = None) -> Hit:
    return Hit(text=text, score=1.0, doc_id="d", title="t", page=page, chunk_id="c", similarity=0.5)


def test_dev_metrics_by_hand():
    questions = [
        {"question": "a", "expect": ["apple"]},              # relevant at rank 1
        {"question": "b", "expect": ["banana"]},             # relevant at rank 3
        {"question": "c", "expect": ["cherry"], "page": 2},  # right text, wrong page: a miss
        {"question": "x", "expect_abstain": True},           # not counted in recall
    ]
    results = {"a": [_hit("An apple."), _hit("pear")],
               "b": [_hit("pear"), _hit("plum"), _hit("A Banana!")],
               "c": [_hit("cherry", page=1)],
               "x": [_hit("nothing")]}
    sc = score_questions(questions, lambda q, k: results[q][:k])
    assert [r.rank for r in sc.results] == [1, 3, None, None]
    assert sc.recall_at(1) == pytest.approx(1 / 3)
    assert sc.recall_at(5) == pytest.approx(2 / 3)
    assert sc.mrr_at(10) == pytest.approx((1 + 1 / 3) / 3)
    assert sc.mrr_at(2) == pytest.approx(1 / 3)


def test_beir_metrics_by_hand():
    qrels = {"q1": {"d1": 1, "d2": 1}, "q2": {"d9": 1}, "q3": {"d5": 1}}
    run = {"q1": {"d1": 3.0, "d3": 2.0, "d2": 1.0},  # relevant at ranks 1 and 3
           "q2": {"d4": 2.0, "d9": 1.0}}             # relevant at rank 2; q3 returned nothing
    ndcg_q1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg_q2 = (1 / math.log2(3)) / 1
    scores = score_run(qrels, run)
    assert scores["nDCG@10"] == pytest.approx((ndcg_q1 + ndcg_q2 + 0) / 3)
    assert scores["R@100"] == pytest.approx((1 + 1 + 0) / 3)


def _write_beir(folder, docs: dict[str, tuple[str, str]], queries: dict[str, str], qrels: list[tuple]):
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as f:
        for i, (title, text) in docs.items():
            f.write(json.dumps({"_id": i, "title": title, "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w") as f:
        for i, text in queries.items():
            f.write(json.dumps({"_id": i, "text": text}) + "\n")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels))
    return folder


def test_beir_benchmark_end_to_end(tmp_path):
    folder = _write_beir(tmp_path / "tinybeir", {
        "101": ("Okapi habitat", "The okapi lives in the Ituri rainforest of the Congo basin."),
        "102": ("Penguin diet", "Emperor penguins eat krill, squid and Antarctic silverfish."),
        "103": ("Glacier retreat", "Alpine glaciers have lost much of their ice mass since 1850."),
        "104": ("Bee decline", "Pesticides and habitat loss reduce wild bee populations."),
    }, {"1": "Where does the okapi live?", "2": "What do emperor penguins eat?",
        "3": "unused query without judgements"}, [("1", "101", 1), ("2", "102", 1)])
    corpus, queries, qrels = load_beir(folder)
    assert set(queries) == {"1", "2"} and qrels == {"1": {"101": 1}, "2": {"102": 1}}
    assert corpus["103"]["title"] == "Glacier retreat"

    rows = evaluate_beir(folder, ["dense", "bm25", "hybrid"], tmp_path / "work", progress=False)
    assert [r["mode"] for r in rows] == ["dense", "bm25", "hybrid"]
    for r in rows:  # each query's only relevant document is an obvious first
        assert r["ndcg@10"] == pytest.approx(1.0) and r["recall@100"] == pytest.approx(1.0), r
        assert r["documents"] == 4 and r["queries"] == 2
    # The documents' index is cached: a second run embeds nothing and gives the same figures.
    live = current_generation(tmp_path / "work" / "index")
    assert evaluate_beir(folder, ["bm25"], tmp_path / "work", progress=False)[0] == rows[1]
    assert current_generation(tmp_path / "work" / "index") == live


# --- hybrid beats each single mode on measured dev questions ---------------------------------------
# Ranks of the first relevant passage on the bundled corpus (`hpsr eval`, default backend):
#   rep-d01 "How many countries do Health Systems Global's members come from?"         dense 2, BM25 2, hybrid 1
#   pdf-d04 "At which session of the WHO Regional Committee for Europe was the Framework
#            for Action on the Health and Care Workforce 2023-2030 adopted?"          dense 5, BM25 1, hybrid 1
#   pdf-d05 "What does it usually cost to see a private therapist for one appointment
#            in Ireland?" (a paraphrase)                                                dense 1, BM25 5, hybrid 1
HYBRID_WINS = [("rep-d01", "dense"), ("pdf-d04", "dense"), ("pdf-d05", "bm25")]


@pytest.fixture(scope="module")
def corpus(corpus_index) -> index.Index:
    return index.Index.load(corpus_index)


@pytest.fixture(scope="module")
def dev_questions() -> dict[str, dict]:
    return {q["id"]: q for q in eval_questions("dev")}


@pytest.mark.parametrize("qid,weak_mode", HYBRID_WINS, ids=[f"{q}-{m}" for q, m in HYBRID_WINS])
def test_hybrid_first_where_one_mode_is_not(corpus, dev_questions, qid, weak_mode):
    q = dev_questions[qid]
    ranks = {m: score_questions([q], lambda text, k: corpus.search(text, k, mode=m), depth=30).results[0].rank
             for m in ("dense", "bm25", "hybrid")}
    assert ranks["hybrid"] == 1, f"{qid}: {ranks}"
    assert ranks[weak_mode] is None or ranks[weak_mode] > 1, f"{qid} no longer a {weak_mode} miss: {ranks}"


def test_hybrid_at_least_as_good_as_either_mode_on_the_dev_sets(corpus):
    for name in ("report.jsonl", "pdfs.jsonl"):
        rows = {r["mode"]: r for r in evaluate_dev(corpus, EVAL / "dev" / name, ["dense", "bm25", "hybrid"])}
        for metric in ("recall@1", "recall@5", "mrr@10"):
            best_single = max(rows["dense"][metric], rows["bm25"][metric])
            assert rows["hybrid"][metric] >= best_single, (name, metric, rows)


def test_cli_eval_beir_prints_a_table_and_writes_json(tmp_path, capsys):
    from chatbot.cli import main

    folder = _write_beir(tmp_path / "mini", {"1": ("Okapi habitat", "The okapi lives in the Ituri rainforest."),
                                             "2": ("Penguin diet", "Emperor penguins eat krill and squid.")},
                         {"q": "What do penguins eat?"}, [("q", "2", 1)])
    out = tmp_path / "figures.json"
    assert main(["--index", str(tmp_path / "index"), "eval", "--beir", str(folder), "--modes", "bm25",
                 "--quiet", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nDCG@10" in printed and "mini" in printed and "1.000" in printed, printed
    rows = json.loads(out.read_text())
    assert rows == [{"set": "mini", "mode": "bm25", "queries": 1, "documents": 2, "chunks": 2,
                     "ndcg@10": 1.0, "recall@100": 1.0}]
    assert (tmp_path / "beir" / "mini" / "index" / "CURRENT").is_file(), "BEIR index not cached beside --index"


def test_feedback_reaches_a_passage_worded_otherwise(tmp_path):
    """BM25 with pseudo-relevance feedback (Sparse.with_feedback): a passage that shares no word
    with the query scores through the words of the passages the query found; with no feedback
    words it scores nothing, and the query's own words are never fed back."""
    from index.sparse import Sparse, write_sparse

    texts = ["The jab protects girls against the papillomavirus; the jab is free in schools.",
             "School papillomavirus immunisation coverage reached most girls.",
             "Hospital beds per capita fell during the decade."]
    write_sparse(tmp_path, texts)
    sparse = Sparse(tmp_path, len(texts))
    assert sparse.scores("jab")[1] == 0
    fed = sparse.with_feedback("jab", [texts[0]], terms=3, weight=0.1)
    assert fed[1] > 0 and fed[2] == 0 and fed[0] > fed[1]
    assert np.array_equal(sparse.with_feedback("jab", [texts[0]], terms=0, weight=0.1), sparse.scores("jab"))
    assert np.array_equal(sparse.with_feedback("jab", ["jab jab"], terms=3, weight=0.1), sparse.scores("jab"))


def test_hybrid_search_uses_feedback_only_when_set(corpus_index):
    from index import Settings

    question = "Roughly what share of people pay for their own private medical cover?"
    on = index.Index.load(corpus_index, Settings.load(feedback_terms=5)).search(question, 10)
    off = index.Index.load(corpus_index, Settings.load(feedback_terms=0)).search(question, 10)
    assert [h.chunk_id for h in on] != [h.chunk_id for h in off]


def test_status_names_the_fusion_weights_in_use():
    from index import Settings
    from index.status import search_line

    line = search_line(Settings.load(alpha=0.4, sentence_weight=0.3, feedback_terms=7))
    assert "dense 0.4 and BM25 0.6" in line and "best sentence 0.3" in line and "7 words" in line
    assert "no BM25 feedback" in search_line(Settings.load(feedback_terms=0))
    assert search_line(Settings.load(mode="bm25")) == "bm25"
