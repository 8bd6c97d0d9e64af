"""Answer latency through the chat's Gradio API (/answer), over the dev questions, warm.

Usage: .venv/bin/python bench/api_latency.py [--index DIR] [--repeat 3]
Starts the app on a free loopback port in this process, asks every dev question `repeat`
times through gradio_client, and prints p50/p95 next to the same answers called in-process
(the baseline: the API's own overhead is the difference).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.answer import answer  # noqa: E402
from chatbot.app import build_app, start  # noqa: E402
from index import Settings, open_index  # noqa: E402
from index.evaluate import load_questions  # noqa: E402

EVAL = Path(__file__).resolve().parent.parent / "eval" / "dev"  # the project's dev questions


def _pct(times: list[float]) -> str:
    times = sorted(times)
    return f"{statistics.median(times):.0f} | {times[int(0.95 * (len(times) - 1))]:.0f}"


def main() -> None:
    from gradio_client import Client

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    settings = Settings.load(index_dir=args.index)
    qs = [q["question"] for f in ("report.jsonl", "pdfs.jsonl") for q in load_questions(EVAL / f)]
    idx = open_index(settings.index_dir)
    answer(idx, "warm up")
    local = []
    for _ in range(args.repeat):
        for q in qs:
            idx.embedder.clear_cache()  # a question never asked before
            t = time.perf_counter()
            answer(idx, q)
            local.append((time.perf_counter() - t) * 1000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_app(settings)
    start(demo, settings, port=port)
    # ssl_verify=False: plain HTTP on loopback; otherwise gradio_client builds a certificate-
    # checking SSL context for every request (see bench/load.py).
    client = Client(f"http://127.0.0.1:{port}/", verbose=False, ssl_verify=False)
    client.predict("warm up", "", "", api_name="/answer")
    remote = []
    for _ in range(args.repeat):
        for q in qs:
            idx.embedder.clear_cache()  # the app shares this process's embedder
            t = time.perf_counter()
            client.predict(q, "", "", api_name="/answer")
            remote.append((time.perf_counter() - t) * 1000)
    demo.close()
    print(f"{len(qs)} dev questions x {args.repeat}\n\n| path | p50 ms | p95 ms |\n|---|---|---|")
    print(f"| in-process answer() (baseline) | {_pct(local)} |")
    print(f"| Gradio API /answer | {_pct(remote)} |")


if __name__ == "__main__":
    main()
