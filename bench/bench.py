"""Side-by-side performance: hpsr-chat against the LangChain tutorial pipeline (bench/baseline.py),
same model, same machine, same run, on the bundled corpus and on copies of it with at least
5,000 chunks.

Usage: .venv/bin/python bench/bench.py [--repeat 3] [--large-repeat N] [--large-chunks 5000] [--json FILE]
(`make bench` installs the `bench` extra, langchain-community, first.)

Every measurement runs in a fresh process, so imports, model loading and peak RSS are counted
as a user would see them:
- ingest: a new process builds the index from nothing; chunks/s = chunks / process wall time.
- cold start: a new process until the first search result is returned (index already built);
  for hpsr also `hpsr chat` until the chat page answers HTTP 200.
- warm search: in that process, the 62 dev questions x 5 (--rounds), k=5, after one warm-up; hpsr in its
  default (hybrid) mode. `--systems hpsr,hpsr-qdrant` compares the two stores. For hpsr also a whole cited answer (chatbot.answer) to each, the
  query cache cleared before each.
Figures are medians over --repeat runs. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from index.settings import Settings  # noqa: E402
from procmem import peak_rss_mb  # noqa: E402  (bench/procmem.py)
EVAL = REPO / "eval" / "dev"  # the project's dev questions
# Also "hpsr-notables": hpsr reading tables as prose (HPSR_TABLES=0), and "hpsr-qdrant": the index
# in an embedded Qdrant (HPSR_STORE=qdrant, `pip install -e '.[qdrant]'`) instead of FAISS files.
SYSTEMS = ("hpsr", "langchain")


# --- workers (run in their own process) -----------------------------------------------------------

def _questions() -> list[str]:
    from index.evaluate import load_questions

    return [q["question"] for f in ("report.jsonl", "pdfs.jsonl") for q in load_questions(EVAL / f)]


def _settings(system: str, out: Path):
    if system == "hpsr-qdrant":
        return Settings.load(store="qdrant", qdrant_path=out / "qdrant")
    return Settings.load(tables=0) if system == "hpsr-notables" else Settings.load()


def worker_ingest(system: str, corpus: Path, out: Path) -> dict:
    if system.startswith("hpsr"):
        from index import build_index

        return {"chunks": build_index([corpus], out, settings=_settings(system, out), progress=False).chunks}
    import baseline  # bench/baseline.py, beside this script

    return {"chunks": baseline.ingest(corpus, out)}


def worker_query(system: str, out: Path, t_spawn: float, rounds: int) -> dict:
    if system.startswith("hpsr"):
        from index import Index

        idx = Index.load(out, _settings(system, out))

        def search(q: str):  # each query embedded afresh: the query cache would flatter repeats
            idx.embedder.clear_cache()
            return idx.search(q, 5)
    else:
        import baseline  # bench/baseline.py, beside this script

        store = baseline.open_store(out)
        search = lambda q: baseline.search(store, q, 5)  # noqa: E731
    qs = _questions()
    search(qs[0])
    cold = time.time() - t_spawn
    times = []
    for _ in range(rounds):
        for q in qs:
            t = time.perf_counter()
            search(q)
            times.append((time.perf_counter() - t) * 1000)
    out = {"cold_s": cold, "p50_ms": _pct(times, 50), "p95_ms": _pct(times, 95), "queries": len(times)}
    if system.startswith("hpsr"):  # a whole cited answer, the chat's work per question
        from chatbot.answer import answer

        answer(idx, qs[0])
        answers = []
        for _ in range(rounds):
            for q in qs:
                idx.embedder.clear_cache()
                t = time.perf_counter()
                answer(idx, q)
                answers.append((time.perf_counter() - t) * 1000)
        out.update(answer_p50_ms=_pct(answers, 50), answer_p95_ms=_pct(answers, 95))
    return out


# --- the parent ------------------------------------------------------------------------------------

def _pct(values: list[float], p: int) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1)]


def run_worker(*args: str) -> tuple[dict, float, float]:
    """(worker's JSON, wall seconds, peak RSS MB of its process tree) of `bench.py --worker args...`
    in a new process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--worker", *args], stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    peak = peak_rss_mb(proc)  # the worker and any reader processes it starts
    out = proc.stdout.read()
    if proc.wait():
        raise SystemExit(f"worker {args} failed with exit code {proc.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1]), time.perf_counter() - t0, peak


def chat_start_seconds(index_dir: Path) -> float:
    """`hpsr chat` in a new process until its page answers HTTP 200."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "hpsr"), "--index", str(index_dir), "chat",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    try:
        while time.perf_counter() - t0 < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.05)
        raise SystemExit("hpsr chat did not serve its page within 120 s")
    finally:
        proc.terminate()
        proc.wait()


def cpu_flags() -> str:
    """The vector instruction sets that decide ONNX speed: AVX2, AVX-512, VNNI (from /proc/cpuinfo)."""
    try:
        flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return "unknown"
    names = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "AVX-512 VNNI", "avx_vnni": "AVX-VNNI"}
    return ", ".join(v for k, v in names.items() if k in flags) or "no AVX2"


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def make_large_corpus(src: Path, dest: Path, copies: int) -> Path:
    """`copies` copies of every file, each copy retitled so no chunk text repeats exactly
    (hpsr never embeds identical text twice, which would make the comparison unfair)."""
    from pypdf import PdfWriter

    from ingest import load_document

    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.iterdir()):
        if path.suffix.lower() not in {".pdf", ".txt", ".md"} or path.name == "SOURCES.md":
            continue
        title = load_document(path).title
        for i in range(copies):
            target = dest / f"{path.stem}-copy{i}{path.suffix}"
            if path.suffix.lower() == ".pdf":
                writer = PdfWriter(clone_from=str(path))
                writer.add_metadata({"/Title": f"{title} (copy {i})"})
                writer.write(str(target))
            else:
                target.write_text(f"{title} (copy {i})\n" + path.read_text(encoding="utf-8").split("\n", 1)[1],
                                  encoding="utf-8")
    return dest


def measure(system: str, corpus: Path, work: Path, repeat: int, rounds: int = 5) -> dict:
    runs = []
    for r in range(repeat):
        out = work / f"{system}-{corpus.name}-{r}"
        shutil.rmtree(out, ignore_errors=True)
        ing, wall, rss = run_worker("ingest", system, str(corpus), str(out))
        qry, _, qrss = run_worker("query", system, str(out), repr(time.time()), str(rounds))
        row = {"chunks": ing["chunks"], "ingest_s": wall, "chunks_per_s": ing["chunks"] / wall,
               "ingest_rss_mb": rss, "index_mb": disk_mb(out), "query_rss_mb": qrss, **qry}
        if system == "hpsr":
            row["chat_page_s"] = chat_start_seconds(out)
        runs.append(row)
        print(f"  {system} on {corpus.name}, run {r + 1}: " + ", ".join(
            f"{k}={v:.3g}" for k, v in row.items()), file=sys.stderr)
        if r < repeat - 1:
            shutil.rmtree(out)
    return {k: statistics.median(run[k] for run in runs) for k in runs[0]}


def table(results: list[tuple[str, str, dict]]) -> str:
    lines = ["| corpus | system | chunks | ingest s | chunks/s | ingest peak RSS MB | index on disk MB "
             "| first result, new process s | chat page s | warm p50 ms | warm p95 ms | answer p50 ms | answer p95 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for corpus, system, m in results:
        chat = f"{m['chat_page_s']:.1f}" if "chat_page_s" in m else "–"
        answers = (f"{m['answer_p50_ms']:.1f} | {m['answer_p95_ms']:.1f}" if "answer_p50_ms" in m else "– | –")
        lines.append(f"| {corpus} | {system} | {m['chunks']:.0f} | {m['ingest_s']:.1f} | {m['chunks_per_s']:.1f} "
                     f"| {m['ingest_rss_mb']:.0f} | {m['index_mb']:.1f} | {m['cold_s']:.2f} | {chat} "
                     f"| {m['p50_ms']:.1f} | {m['p95_ms']:.1f} | {answers} |")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        kind, system, *rest = sys.argv[2:]
        if kind == "ingest":
            result = worker_ingest(system, Path(rest[0]), Path(rest[1]))
        else:
            result = worker_query(system, Path(rest[0]), float(rest[1]), int(rest[2]))
        print(json.dumps(result))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    ap.add_argument("--large-chunks", type=int, default=5000, help="minimum chunks of the large corpus (0: skip)")
    ap.add_argument("--large-repeat", type=int, help="runs per figure on the large corpus (default: --repeat)")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--rounds", type=int, default=5, help="times each dev question is searched and answered")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    systems = args.systems.split(",")
    results = []
    with tempfile.TemporaryDirectory(prefix="hpsr-bench-") as tmp:
        work = Path(tmp)
        for system in systems:
            results.append(("bundled", system, measure(system, args.corpus, work, args.repeat, args.rounds)))
        if args.large_chunks:
            fewest = min(m["chunks"] for _, _, m in results)
            copies = math.ceil(args.large_chunks / fewest)
            large = make_large_corpus(args.corpus, work / f"corpus-x{copies}", copies)
            for system in systems:
                results.append((f"bundled x{copies}", system,
                                measure(system, large, work, args.large_repeat or args.repeat, args.rounds)))
    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, CPU flags: {cpu_flags()}, "
          f"Python {platform.python_version()}, "
          f"embedding backend {Settings.load().backend}; {time.strftime('%Y-%m-%d')}; medians of "
          f"{args.repeat} runs (bundled), {args.large_repeat or args.repeat} (large)\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([{"corpus": c, "system": s, **m} for c, s, m in results], indent=1))


if __name__ == "__main__":
    main()
