"""Many users at once: N concurrent `gradio_client` users ask the chat's /answer API for T seconds.

Usage: .venv/bin/python bench/load.py [--index DIR] [--users 1,4,16] [--seconds 60]

Starts `hpsr chat` in its own process, as a user would, with the query cache off
(HPSR_QUERY_CACHE=0), so every request embeds its question; each user asks the dev and test
questions in its own order, one after another, and every request is timed from the client.
Prints a markdown table: requests, answers per second, p50, p95 and errors at each number of
users, beside the baseline measured in the same run: the same answers in-process, one at a time.

The clients run on the same machine as the server, so their own work counts against it. Each
client is made with ssl_verify=False: the server is plain HTTP on loopback, and otherwise
gradio_client builds a certificate-verifying SSL context for every request, which took most of
the client's CPU time (py-spy) and capped 16 users at about 11 answers/s on 2 cores. The
client still polls for its result every 50 ms, which sets a floor of about 150 ms per request.
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import cpu_flags  # noqa: E402  (bench/bench.py)
from index import Settings  # noqa: E402
from index.evaluate import load_questions  # noqa: E402


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def questions() -> list[str]:
    return [q["question"] for split in ("dev",) for f in sorted((REPO / "eval" / split).glob("*.jsonl"))
            if f.stem != "follow_ups" for q in load_questions(f)]


def in_process(index_dir: Path, qs: list[str]) -> list[float]:
    """The baseline: each question answered in this process, one at a time, query cache off."""
    from chatbot.answer import answer
    from index import Index

    idx = Index.load(index_dir)
    answer(idx, "warm up")
    times = []
    for q in qs:
        idx.embedder.clear_cache()
        t = time.perf_counter()
        answer(idx, q)
        times.append((time.perf_counter() - t) * 1000)
    return times


def serve(index_dir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HPSR_QUERY_CACHE": "0"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "hpsr"), "--index", str(index_dir), "chat",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("hpsr chat did not serve its page within 120 s")


def load(url: str, users: int, seconds: float, qs: list[str]) -> dict:
    """`users` clients asking one question after another for `seconds`."""
    from gradio_client import Client

    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    # Connected before the clock starts; ssl_verify=False: see the module's docstring.
    clients = [Client(url, verbose=False, ssl_verify=False) for _ in range(users)]
    start = time.monotonic() + 0.5

    def user(n: int) -> None:
        order = qs[:]
        random.Random(n).shuffle(order)
        i = 0
        while time.monotonic() < start:
            time.sleep(0.01)
        while time.monotonic() - start < seconds:
            t = time.perf_counter()
            try:
                clients[n].predict(order[i % len(order)], "", "", api_name="/answer")
                with lock:
                    times.append((time.perf_counter() - t) * 1000)
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")
            i += 1

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"users": users, "requests": len(times) + len(errors), "per_s": len(times) / seconds,
            "p50": _pct(times, 50), "p95": _pct(times, 95), "errors": len(errors), "first_error": errors[:1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, help="a built index (default: the chat's)")
    ap.add_argument("--users", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    index_dir = args.index or Settings.load().index_dir
    qs = questions()
    base = in_process(index_dir, qs)
    proc, url = serve(index_dir)
    try:
        rows = [load(url, int(n), args.seconds, qs) for n in args.users.split(",")]
    finally:
        proc.terminate()
        proc.wait()
    print(f"\nMachine: {os.cpu_count()} cores, CPU flags: {cpu_flags()}; {time.strftime('%Y-%m-%d')}; "
          f"{len(qs)} questions (eval/dev), {args.seconds:.0f} s per row, query cache off\n")
    print("| users | requests | answers/s | p50 ms | p95 ms | errors |\n|---|---|---|---|---|---|")
    print(f"| in-process `answer()`, one at a time (baseline) | {len(base)} | {1000 / statistics.mean(base):.1f} "
          f"| {_pct(base, 50):.0f} | {_pct(base, 95):.0f} | 0 |")
    for r in rows:
        print(f"| {r['users']} | {r['requests']} | {r['per_s']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['errors']} |")
    for r in rows:
        if r["first_error"]:
            print(f"{r['users']} users, first error: {r['first_error'][0]}")


if __name__ == "__main__":
    main()
