"""What a compressed FAISS index costs: recall@10 against the flat (exact) index, search time,
disk and resident memory per 10k chunks, on the vectors of a built index.

Usage: .venv/bin/python bench/compression.py [--index DIR] [--queries FILE.jsonl ...]
The baseline is the flat index in the same run. Queries: the dev questions, plus the BEIR
SciFact queries if that folder is beside the checkout. Memory is the RSS growth of a fresh
process reading the index file.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from index.embedder import embedder_for  # noqa: E402
from index.settings import Settings  # noqa: E402
from index.store import current_generation, read_generation, vector_index  # noqa: E402

EVAL = REPO / "eval" / "dev"  # the project's dev questions
SCIFACT = REPO.parent / "shared" / "eval" / "scifact"  # optional: used when it sits beside the checkout
KINDS = ("flat", "sq8")
K = 10


def rss_of_reading(path: Path) -> float:
    """MB of resident memory a new process gains by reading a FAISS index file."""
    code = ("import faiss, sys\n"
            "def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 1e6\n"
            "r0 = rss(); i = faiss.read_index(sys.argv[1]); print(rss() - r0)")
    return float(subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                                text=True, check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", type=Path, default=REPO / ".hpsr" / "index")
    ap.add_argument("--queries", type=Path, nargs="*")
    args = ap.parse_args()
    gen = read_generation(current_generation(args.index))
    vectors = gen.vectors()
    files = args.queries or [p for p in (EVAL / "report.jsonl", EVAL / "pdfs.jsonl",
                                         SCIFACT / "queries.jsonl") if p.is_file()]
    texts = [json.loads(line).get("question") or json.loads(line).get("text")
             for f in files for line in f.read_text().splitlines() if line.strip()]
    queries = embedder_for(Settings.load()).encode(texts)
    faiss.omp_set_num_threads(1)  # as the search path runs it (index/search.py)
    n, dim = vectors.shape
    print(f"{n} chunk vectors from {args.index}, {len(texts)} queries, "
          f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB\n")
    print(f"| index | recall@{K} vs flat | search ms (p50, one query) | disk MB per 10k chunks "
          f"| RSS MB per 10k chunks |\n|---|---|---|---|---|")
    exact = None
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            index = vector_index(vectors, dim, kind)
            _, ids = index.search(queries, K)
            exact = ids if exact is None else exact
            recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(ids, exact)])
            times = []
            for q in queries:
                t = time.perf_counter()
                index.search(q[None, :], K)
                times.append((time.perf_counter() - t) * 1000)
            path = Path(tmp) / f"{kind}.faiss"
            faiss.write_index(index, str(path))
            per10k = 10_000 / n
            print(f"| {kind}{' (baseline)' if kind == 'flat' else ''} | {recall:.4f} | "
                  f"{statistics.median(times):.2f} | {path.stat().st_size / 1e6 * per10k:.1f} | "
                  f"{rss_of_reading(path) * per10k:.1f} |")


if __name__ == "__main__":
    main()
