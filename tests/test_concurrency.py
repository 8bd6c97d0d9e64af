"""16 concurrent users ask through the Gradio API on loopback while a re-index rewrites a document
they ask about: no errors, every answer comes whole from one index version (old or new text of
that document, never both), and the p95 latency is reported."""
from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import index
from hostile import record, serve
from index.settings import suite_variable

CLIENTS = 16
QUESTIONS = [
    "When was Health Systems Global founded?",
    "How many members does Health Systems Global have?",
    "How many referrals were made to the Counselling in Primary Care programme in 2024?",
    "What is the capital of France?",
    "How many community health workers did the pangolin programme train in district 7?",
]
CHANGED_DOC_QUESTION = "How many community health workers did the pangolin programme train in district 7?"


def _pangolin(path: Path, version: int) -> Path:
    """The pangolin report; version 2 changes every passage (the figures), not just adds some."""
    paras = [f"In district {i} the pangolin programme trained {i + 3 * version} community health workers and "
             f"opened {i % 7 + version} new posts, with a budget of {1000 + 37 * i * version} dollars in year "
             f"{2000 + i}." for i in range(60)]
    path.write_text("# Pangolin Programme Report\n\n" + "\n\n".join(paras) + "\n")
    return path


def versions(answers: list[dict], old: dict[str, str], new: dict[str, str]) -> tuple[list, list]:
    """Answers whose passages mix the old and the new index, and answers to the changed
    document's question that still quote the old text after the swap (given as `late`)."""
    mixed = []
    for r in answers:
        passages = {(p["chunk_id"], p["text"]) for p in r["passages"] + r["citations"]}
        if not (all(old.get(cid) == text for cid, text in passages)
                or all(new.get(cid) == text for cid, text in passages)):
            mixed.append(r)
    stale = [r for r in answers if r.get("late") and r["question"] == CHANGED_DOC_QUESTION and any(
        old.get(p["chunk_id"]) == p["text"] != new.get(p["chunk_id"]) for p in r["passages"])]
    return mixed, stale


def test_the_version_check_catches_a_mixed_answer():
    old = {"p#1": "trained 10 workers", "p#2": "opened 2 posts", "q#1": "same text"}
    new = {"p#1": "trained 16 workers", "p#2": "opened 5 posts", "q#1": "same text"}
    one = {"question": "x", "citations": [], "passages": [{"chunk_id": "p#1", "text": "trained 10 workers"},
                                                          {"chunk_id": "q#1", "text": "same text"}]}
    both = {"question": "x", "citations": [], "passages": [{"chunk_id": "p#1", "text": "trained 10 workers"},
                                                           {"chunk_id": "p#2", "text": "opened 5 posts"}]}
    late = {"question": CHANGED_DOC_QUESTION, "late": True, "citations": [],
            "passages": [{"chunk_id": "p#1", "text": "trained 10 workers"}]}
    assert versions([one], old, new) == ([], [])
    assert versions([both], old, new) == ([both], [])
    assert versions([late], old, new) == ([], [late])


def _soak(corpus_index: Path, root: Path, seconds: float) -> dict:
    from gradio_client import Client

    shutil.copytree(corpus_index, root / "index")
    settings = index.Settings.load(index_dir=root / "index", library_dir=root / "uploads")
    settings.library_dir.mkdir()
    doc = _pangolin(settings.library_dir / "pangolin-programme.md", version=1)
    index.build_index(None, index_dir=root / "index", settings=settings, progress=False)  # corpus + library
    old = {c.chunk_id: c.text for c in index.Index.load(root / "index").chunks}
    demo, url = serve(settings)
    latencies: list[float] = []
    errors: list[str] = []
    answers: list[tuple[float, float, dict]] = []  # (start, end, result)
    lock = threading.Lock()
    # Users ask for `seconds`, and on until a while after the re-index: on a busy machine the
    # re-index can outlast `seconds`, and the answers after the swap are what the checks need.
    stop = [time.monotonic() + seconds]
    swapped = threading.Event()

    def user(n: int) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as e:  # noqa: BLE001 - counted, then asserted on
            with lock:
                errors.append(f"client {n}: {e!r}")
            return
        i = n
        while not swapped.is_set() or time.monotonic() < stop[0]:
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
    _pangolin(doc, version=2)  # the document changes on disk, then the index is rebuilt under the users
    report = index.build_index(None, index_dir=root / "index", settings=settings, progress=False)
    upload_end = time.monotonic()
    stop[0] = max(stop[0], upload_end + max(3.0, seconds / 4))
    swapped.set()
    for t in threads:
        t.join()
    demo.close()

    new = {c.chunk_id: c.text for c in index.Index.load(root / "index").chunks}
    changed = [cid for cid in new if cid in old and old[cid] != new[cid]]
    assert report.changed and len(changed) >= 10, (report.summary(), len(changed))
    marked = [{**r, "late": t0 > upload_end + 0.5} for t0, _, r in answers]
    mixed, stale = versions(marked, old, new)
    late = [r for r in marked if r["late"] and r["question"] == CHANGED_DOC_QUESTION]
    assert any(p["doc_id"] == "pangolin-programme" for r in late for p in r["passages"]), \
        "no answer after the swap found the changed document: the stale check would be empty"
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
    figures = _soak(corpus_index, tmp_path, seconds=float(suite_variable("HPSR_FAST_SECONDS", "10")))
    print(f"\n[reliability] fast concurrency: {figures}")


@pytest.mark.soak
def test_soak_concurrent_users(corpus_index, tmp_path):
    figures = _soak(corpus_index, tmp_path, seconds=float(suite_variable("HPSR_SOAK_SECONDS", "60")))
    record("concurrency", **figures, command="pytest -m soak tests/test_concurrency.py")


def test_word_lookups_from_many_threads_survive_the_cache_being_cleared(small_index, monkeypatch):
    """One request clearing the shared cache of word lookups (Index.mentions) just after another
    stored its entry made that one raise KeyError."""
    idx = index.Index.load(small_index)

    class ClearedByAnotherRequest(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            other = threading.Thread(target=self.clear)  # another request, clearing it right then
            other.start()
            other.join()

    idx._mentions = ClearedByAnotherRequest()
    assert len(idx.mentions("okapi", prefix=5)) and len(idx.mentions("giraffe"))
    # and many threads at once, with the cache clearing on every lookup
    monkeypatch.setattr(sys.modules["index.search"], "MENTIONS_CACHE", 1)
    idx._mentions = {}
    words = ["okapi", "giraffe", "forest", "zebra", "clinic", "dental", "rainforest", "hills"] * 50
    errors: list[BaseException] = []

    def look(offset: int) -> None:
        try:
            for w in words[offset:] + words[:offset]:
                idx.mentions(w, prefix=5)
        except BaseException as e:  # noqa: BLE001 - the test reports any
            errors.append(e)

    threads = [threading.Thread(target=look, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
