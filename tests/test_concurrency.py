"""16 concurrent users ask through the Gradio API on loopback while an upload re-indexes: no
errors, every answer comes whole from one index version, and the p95 latency is reported."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import index
from hostile import record, serve

CLIENTS = 16
QUESTIONS = [
    "When was Health Systems Global founded?",
    "How many members does Health Systems Global have?",
    "How many referrals were made to the Counselling in Primary Care programme in 2024?",
    "What is the capital of France?",
    "How many community health workers did the pangolin programme train in district 7?",
]
NEW_DOC_QUESTION = "How many community health workers did the pangolin programme train in district 7?"


def _pangolin(path: Path) -> Path:
    paras = [f"In district {i} the pangolin programme trained {i + 3} community health workers and "
             f"opened {i % 7 + 1} new posts, with a budget of {1000 + 37 * i} dollars in year {2000 + i}."
             for i in range(60)]
    path.write_text("# Pangolin Programme Report\n\n" + "\n\n".join(paras) + "\n")
    return path


def _soak(corpus_index: Path, root: Path, seconds: float) -> dict:
    from gradio_client import Client, handle_file

    shutil.copytree(corpus_index, root / "index")
    settings = index.Settings.load(index_dir=root / "index", corpus_dir=root / "uploads")
    old = {c.chunk_id: c.text for c in index.Index.load(root / "index").chunks}
    demo, url = serve(settings)
    latencies: list[float] = []
    errors: list[str] = []
    answers: list[tuple[float, float, dict]] = []  # (start, end, result)
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def user(n: int) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as e:  # noqa: BLE001 - counted, then asserted on
            with lock:
                errors.append(f"client {n}: {e!r}")
            return
        i = n
        while time.monotonic() < stop:
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            t0 = time.monotonic()
            try:
                result = client.predict(question, "", "", api_name="/answer")
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"{question}: {e!r}")
                continue
            t1 = time.monotonic()
            with lock:
                latencies.append(t1 - t0)
                answers.append((t0, t1, {**result, "question": question}))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(seconds / 4)
    upload_start = time.monotonic()
    status, _ = Client(url, verbose=False).predict(
        [handle_file(str(_pangolin(root / "pangolin-programme.md")))], api_name="/add_documents")
    upload_end = time.monotonic()
    for t in threads:
        t.join()
    demo.close()

    new = {c.chunk_id: c.text for c in index.Index.load(root / "index").chunks}
    assert "1 added" in status and len(new) > len(old), status
    mixed, stale = [], []
    for t0, t1, r in answers:
        passages = {(p["chunk_id"], p["text"]) for p in r["passages"] + r["citations"]}
        from_old = all(old.get(cid) == text for cid, text in passages)
        from_new = all(new.get(cid) == text for cid, text in passages)
        if not (from_old or from_new):
            mixed.append(r)
        if r["question"] == NEW_DOC_QUESTION and t0 > upload_end + 0.5 and not any(
                p["doc_id"] == "pangolin-programme" for p in r["citations"]):
            stale.append(r)
    during = [t1 - t0 for t0, t1, _ in answers if t0 < upload_end and t1 > upload_start]
    figures = {"clients": CLIENTS, "seconds": seconds, "requests": len(latencies), "errors": len(errors),
               "mixed_answers": len(mixed), "stale_after_swap": len(stale),
               "p50_ms": round(1000 * float(np.percentile(latencies, 50))),
               "p95_ms": round(1000 * float(np.percentile(latencies, 95))),
               "p95_during_reindex_ms": round(1000 * float(np.percentile(during, 95))) if during else None,
               "reindex_seconds": round(upload_end - upload_start, 1)}
    assert not errors, f"{len(errors)} errors, e.g. {errors[:3]}"
    assert not mixed, f"answers mixing index versions: {mixed[:1]}"
    assert not stale, f"answers from the old index after the swap: {len(stale)}"
    assert latencies and during, figures
    return figures


def test_concurrent_users_during_a_reindex(corpus_index, tmp_path):
    figures = _soak(corpus_index, tmp_path, seconds=float(os.environ.get("HPSR_FAST_SECONDS", 10)))
    print(f"\n[reliability] fast concurrency: {figures}")


@pytest.mark.soak
def test_soak_concurrent_users(corpus_index, tmp_path):
    figures = _soak(corpus_index, tmp_path, seconds=float(os.environ.get("HPSR_SOAK_SECONDS", 60)))
    record("concurrency", **figures, command="pytest -m soak tests/test_concurrency.py")
