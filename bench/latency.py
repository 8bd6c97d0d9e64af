"""Warm query latency of search modes and of full answers, 1 vs 2 torch threads, on a built index.

Usage: .venv/bin/python bench/latency.py [--index DIR] [--repeat 5]
Prints a markdown table. The baseline in the same run is dense-only search (one FAISS lookup
after one query embedding), against which hybrid and full answers are compared.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.answer import answer  # noqa: E402
from index import Index  # noqa: E402
from index.evaluate import load_questions  # noqa: E402

EVAL = Path(__file__).resolve().parent.parent / "eval" / "dev"  # the project's dev questions


def cpu_flags() -> str:
    """The model name and the vector instruction sets of this CPU (Linux), for comparing runs."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_tile") if f in flags]
    return f"{model}; {' '.join(wanted) or 'no AVX2'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    idx = Index.load(args.index)
    idx.search("warm up the model", 5)
    print(f"load index + model + first query: {time.perf_counter() - t0:.2f} s, {len(idx.chunks)} chunks")
    print(f"CPU: {cpu_flags()}\n")
    qs = [q["question"] for f in ("report.jsonl", "pdfs.jsonl") for q in load_questions(EVAL / f)]
    print("| threads | what | p50 ms | p95 ms |\n|---|---|---|---|")
    for threads in (1, 2):
        idx.settings = replace(idx.settings, query_threads=threads)
        no_feedback = Index(idx.generation, replace(idx.settings, feedback_terms=0), idx.embedder)
        for name, fn in [("dense search (baseline)", lambda q: idx.search(q, 5, mode="dense")),
                         ("bm25 search", lambda q: idx.search(q, 5, mode="bm25")),
                         ("hybrid search, no BM25 feedback", lambda q: no_feedback.search(q, 5, mode="hybrid")),
                         ("hybrid search", lambda q: idx.search(q, 5, mode="hybrid")),
                         ("full answer", lambda q: answer(idx, q))]:
            times = []
            for _ in range(args.repeat):
                for q in qs:
                    idx.embedder.clear_cache()  # a question never asked before
                    t = time.perf_counter()
                    fn(q)
                    times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            print(f"| {threads} | {name} | {statistics.median(times):.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
