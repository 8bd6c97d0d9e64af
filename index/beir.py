"""Score the search modes on a retrieval benchmark in BEIR layout (corpus.jsonl, queries.jsonl,
qrels/<split>.tsv) with nDCG@10 and recall@100 from ir-measures.

The benchmark goes through the product's own pipeline: each BEIR document is written as a small
Markdown file (`# title`, then the text) and indexed with `build_index`, so chunking, title
context, embedding, BM25 and fusion are exactly what the chat uses. The index is cached under
`work_dir`; a second run only re-embeds what changed.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from index.build import ProgressFn, build_index
from index.search import Index
from index.settings import Settings

METRICS = ("nDCG@10", "R@100")
DEPTH = 100  # documents ranked per query (recall@100 needs 100)


def load_beir(folder: str | Path, split: str = "test") -> tuple[dict, dict, dict]:
    """(corpus {id: {"title", "text"}}, queries {id: text}, qrels {qid: {doc id: grade}})."""
    folder = Path(folder)
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if row and row[0] != "query-id":  # BEIR files start with a header row
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    with open(folder / "queries.jsonl", encoding="utf-8") as f:
        queries = {q["_id"]: q["text"] for q in map(json.loads, f) if q["_id"] in qrels}
    with open(folder / "corpus.jsonl", encoding="utf-8") as f:
        corpus = {d["_id"]: {"title": d.get("title", ""), "text": d["text"]} for d in map(json.loads, f)}
    return corpus, queries, qrels


def write_documents(corpus: dict, folder: Path) -> list[Path]:
    """One Markdown file per document (rewritten only if its content differs)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc_id, d in corpus.items():
        path = folder / f"{doc_id}.md"
        body = f"# {d['title'].strip()}\n\n{d['text'].strip()}\n" if d["title"].strip() else d["text"]
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths


def rank_documents(idx: Index, query: str, mode: str, depth: int = DEPTH) -> dict[str, float]:
    """The top `depth` documents for a query: each scored by its best chunk, as rank scores."""
    ranked: dict[str, None] = {}  # insertion-ordered set: first (best) chunk of each document
    k = depth * 3  # a document has ~2-3 chunks; ask for enough chunks to fill `depth` documents
    for hit in idx.search(query, k=k, mode=mode):
        ranked.setdefault(Path(hit.source).stem)
    return {doc: float(depth - i) for i, doc in enumerate(list(ranked)[:depth])}


def evaluate_beir(folder: str | Path, modes: list[str], work_dir: str | Path,
                  settings: Settings | None = None, progress: bool | ProgressFn = True,
                  split: str = "test") -> list[dict]:
    """nDCG@10 and recall@100 per mode: one dict per mode."""
    folder, work_dir = Path(folder), Path(work_dir)
    corpus, queries, qrels = load_beir(folder, split)
    write_documents(corpus, work_dir / "docs")
    report = build_index([work_dir / "docs"], work_dir / "index", settings, progress=progress)
    idx = Index.load(work_dir / "index", settings)
    rows = []
    for mode in modes:
        run = {qid: rank_documents(idx, text, mode) for qid, text in queries.items()}
        scores = score_run(qrels, run)
        rows.append({"set": folder.name if split == "test" else f"{folder.name}-{split}", "mode": mode,
                     "queries": len(queries),
                     "documents": report.files, "chunks": report.chunks,
                     "ndcg@10": round(scores["nDCG@10"], 4), "recall@100": round(scores["R@100"], 4)})
    return rows


def score_run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean nDCG@10 and recall@100 over the queries in `qrels` (ir-measures / pytrec_eval);
    a query with no results counts as 0."""
    import ir_measures

    measures = [ir_measures.parse_measure(m) for m in METRICS]
    per_query = {m: {} for m in METRICS}
    for metric in ir_measures.iter_calc(measures, qrels, run):
        per_query[str(metric.measure)][metric.query_id] = metric.value
    return {m: sum(per_query[m].get(q, 0.0) for q in qrels) / len(qrels) for m in METRICS}
