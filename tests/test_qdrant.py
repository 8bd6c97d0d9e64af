"""The index in Qdrant (HPSR_STORE=qdrant), against an embedded Qdrant: the same results as the
default store, incremental rebuilds, an alias swap under readers, a killed rebuild, and a
Qdrant that cannot be reached."""
from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import index
from chatbot.answer import answer
from conftest import REPO, write_small_corpus
from hostile import free_port
from index.settings import Settings

pytest.importorskip("qdrant_client")

HPSR = Path(sys.executable).parent / "hpsr"
QUESTIONS = ["Where is the okapi found?", "How many nurses does each lemur clinic employ?",
             "When was the Zebra Health Fund created?", "dental units in the northern hills",
             "Okapi Wildlife Reserve square kilometres", "What do okapis eat?"]


def pangolin(folder: Path, version: int) -> Path:
    path = folder / "pangolin.md"
    path.write_text(f"# Pangolin Outreach Programme\n\nIn version {version} of its plan the pangolin outreach "
                    f"programme trained {50 + version} rangers in the Limpopo valley.\n\nVersion {version} also "
                    f"opened {version} pangolin clinics for version {version} patrols.\n", encoding="utf-8")
    return path


def qdrant(root: Path, **kw) -> Settings:
    return Settings.load(store="qdrant", qdrant_path=root / "qdrant", index_dir=root / "index",
                         library_dir=root / "library", **kw)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The small corpus indexed by each store."""
    root = tmp_path_factory.mktemp("stores")
    docs = write_small_corpus(root / "docs")
    settings = qdrant(root)
    index.build_index([docs], settings=settings, progress=False)
    index.build_index([docs], index_dir=root / "faiss", progress=False)
    return index.Index.load(settings=settings), index.Index.load(root / "faiss"), root, docs


def test_both_stores_give_the_same_hits_and_answers(both):
    q, f, _, _ = both
    assert type(q.generation).__name__ == "QdrantGeneration" and q.documents == f.documents
    for question in QUESTIONS:
        for mode in ("hybrid", "dense", "bm25"):
            for doc in (None, "okapi-guide"):
                a, b = q.search(question, 5, doc, mode), f.search(question, 5, doc, mode)
                assert [h.chunk_id for h in a] == [h.chunk_id for h in b], (question, mode, doc)
                assert [x for h in a for x in (h.score, h.similarity or 0)] == pytest.approx(
                    [x for h in b for x in (h.score, h.similarity or 0)], abs=1e-3), (question, mode, doc)
                assert [(h.text, h.source, h.page, h.section) for h in a] == [(h.text, h.source, h.page, h.section) for h in b]
        x, y = answer(q, question), answer(f, question)
        assert (x.text, x.abstained, x.reason) == (y.text, y.abstained, y.reason), question


def test_qdrant_rrf_fuses_inside_qdrant_like_the_default_store(both):
    q, f, root, _ = both
    rrf = index.Index(q.generation, Settings.load(fusion="rrf", store="qdrant", qdrant_path=root / "qdrant"), q.embedder)
    rrf_faiss = index.Index(f.generation, Settings.load(fusion="rrf"), f.embedder)
    for question in QUESTIONS:
        assert [h.chunk_id for h in rrf.search(question, 5)] == [h.chunk_id for h in rrf_faiss.search(question, 5)]


def test_the_index_folder_keeps_only_the_build_lock(both):
    _, _, root, _ = both
    assert sorted(p.name for p in (root / "index").iterdir()) == [".lock"]


def test_incremental_rebuild_reuses_points_and_keeps_two_collections(tmp_path):
    from index.qdrant_store import _collections, chunk_point_id, client, live_collection

    docs = write_small_corpus(tmp_path / "docs")
    settings = qdrant(tmp_path)
    first = index.build_index([docs], settings=settings, progress=False)
    before = index.Index.load(settings=settings)
    pangolin(docs, 1)
    second = index.build_index([docs], settings=settings, progress=False)
    assert second.added == [str(docs / "pangolin.md")] and len(second.unchanged) == 3
    assert 0 < second.embedded <= 2 < first.embedded  # only the new file's chunks
    after = index.Index.load(settings=settings)
    kept = {chunk_point_id(c) for c in before.chunks}
    assert kept <= set(after.generation.ids)  # stable point ids for unchanged chunks
    assert after.search("How many rangers were trained?", k=1)[0].doc_id == "pangolin"
    (docs / "lemur-notes.txt").unlink()
    third = index.build_index([docs], settings=settings, progress=False)
    assert third.removed and "lemur-notes" not in index.Index.load(settings=settings).documents
    assert before.generation.name in _collections(settings)  # held by a reader here: kept
    del before, after
    gc.collect()
    index.build_index([docs], settings=settings, progress=False)  # nothing to do, but it prunes
    assert len(_collections(settings)) == 2 and live_collection(settings) == _collections(settings)[-1]
    names = [c.name for c in client(settings).get_collections().collections]
    assert len(names) == 2, names  # older collections pruned


def test_upload_and_remove_in_the_chat_work_on_qdrant(tmp_path):
    from chatbot.app import ChatApp

    docs = write_small_corpus(tmp_path / "docs")
    settings = qdrant(tmp_path)
    index.build_index([docs], settings=settings, progress=False)
    app = ChatApp(settings)
    status, _, _ = app.add_documents([str(pangolin(tmp_path, 3))])
    assert "1 added" in status, status
    assert "pangolin" in app.index().documents
    message, *_ = app.remove_document("okapi-guide")
    assert "1 removed" in message and "okapi-guide" not in app.index().documents


def test_readers_never_see_a_mix_while_the_alias_moves(tmp_path):
    """Each search answers from one collection: all its pangolin passages are of one version."""
    docs = write_small_corpus(tmp_path / "docs")
    settings = qdrant(tmp_path)
    pangolin(docs, 1)
    index.build_index([docs], settings=settings, progress=False)
    held = index.Index.load(settings=settings)
    seen, errors, stop = [], [], threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                for reader in (held, index.open_index(settings.index_dir, settings)):
                    hits = reader.search("pangolin version rangers clinics patrols", k=4, doc="pangolin")
                    versions = {w for h in hits for w in ("1", "2", "3") if f"version {w}" in h.text}
                    seen.append(versions)
            except Exception as e:  # noqa: BLE001 - every failure counts
                errors.append(e)

    thread = threading.Thread(target=keep_searching)
    thread.start()
    try:
        for version in (2, 3):
            pangolin(docs, version)
            assert index.build_index([docs], settings=settings, progress=False).swapped
            time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
    assert errors == [] and len(seen) > 10, errors[:3]
    assert all(len(v) == 1 for v in seen), [v for v in seen if len(v) != 1][:5]
    assert {"1"} in seen  # the held reader kept its collection


def _env(qdrant_dir: Path) -> dict:
    return {**os.environ, "HPSR_STORE": "qdrant", "HPSR_QDRANT_PATH": str(qdrant_dir), "HPSR_INGEST_THREADS": "1"}


def _hpsr(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HPSR), *args], env=env, capture_output=True, text=True, timeout=300)


def test_a_killed_rebuild_leaves_the_alias_on_the_old_collection(tmp_path):
    docs = write_small_corpus(tmp_path / "docs")
    env, index_dir = _env(tmp_path / "qdrant"), str(tmp_path / "index")
    assert _hpsr(env, "--index", index_dir, "ingest", "--quiet", str(docs)).returncode == 0
    status = json.loads(_hpsr(env, "--index", index_dir, "status", "--json").stdout)
    old = status["live"]
    for n in range(40):  # a document big enough that writing its points takes a while
        (docs / f"extra-{n}.md").write_text(f"# Extra {n}\n\n" + f"Aardvark note {n} about burrows. " * 40)
    proc = subprocess.Popen([str(HPSR), "--index", index_dir, "ingest", "--quiet", str(docs)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meta = tmp_path / "qdrant" / "meta.json"
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if len(json.loads(meta.read_text())["collections"]) >= 2:  # the new one is being written
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    assert proc.poll() is None, "the build ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # the new collection exists; its points are being written
    proc.wait()
    after = json.loads(_hpsr(env, "--index", index_dir, "status", "--json").stdout)
    assert after["live"] == old and after["serving"] == old
    assert any(not g["verified"] for g in after["generations"] if g["name"] != old), after["generations"]
    hits = json.loads(_hpsr(env, "--index", index_dir, "search", "Where is the okapi found?", "--json").stdout)
    assert hits[0]["doc_id"] == "okapi-guide" and not any(h["doc_id"].startswith("extra") for h in hits)
    done = _hpsr(env, "--index", index_dir, "ingest", "--quiet", str(docs))
    assert done.returncode == 0, done.stderr[-1000:]
    final = json.loads(_hpsr(env, "--index", index_dir, "status", "--json").stdout)
    assert final["live"] != old and all(g["verified"] for g in final["generations"])
    assert len(final["generations"]) == 2  # the killed build's collection was dropped


def test_an_unreachable_qdrant_is_a_clear_error_and_the_index_on_disk_is_untouched(small_index, tmp_path):
    shutil.copytree(small_index, tmp_path / "index")

    def snapshot() -> dict:
        return {str(p.relative_to(tmp_path)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted((tmp_path / "index").rglob("*")) if p.is_file() and p.name != ".lock"}

    before = snapshot()
    env = {**os.environ, "HPSR_STORE": "qdrant", "HPSR_QDRANT_URL": f"http://127.0.0.1:{free_port()}"}
    for args in (["ingest", "--quiet", str(tmp_path)], ["search", "okapi"], ["ask", "Where is the okapi found?"],
                 ["status"]):
        done = _hpsr(env, "--index", str(tmp_path / "index"), *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "cannot reach Qdrant at http://127.0.0.1:" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert snapshot() == before
    assert index.Index.load(tmp_path / "index").search("okapi", 1)  # the FAISS index still answers


def test_qdrant_settings_are_checked():
    with pytest.raises(index.ConfigError, match="HPSR_QDRANT_URL"):
        Settings.load(store="qdrant")
    with pytest.raises(index.ConfigError, match="HPSR_STORE"):
        Settings.load(store="milvus")
    with pytest.raises(index.ConfigError, match="HPSR_QDRANT_COLLECTION"):
        Settings.load(store="qdrant", qdrant_path="/tmp/x", qdrant_collection="a b")


def test_nothing_imports_qdrant_unless_it_is_chosen(small_index):
    code = ("import sys, index, chatbot.answer, chatbot.cli, chatbot.app; from index import Index; "
            f"idx = Index.load({str(small_index)!r}); idx.search('okapi', 3); chatbot.answer.answer(idx, 'Where is the okapi?'); "
            "print(sorted(m for m in sys.modules if 'qdrant' in m))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_pruning_one_alias_leaves_an_alias_it_is_a_prefix_of(tmp_path):
    """Two aliases on one Qdrant, one a prefix of the other ("hpsr" and "hpsr_dev"): each
    built twice, and both still answer (pruning "hpsr" once dropped every "hpsr_*" collection)."""
    docs = write_small_corpus(tmp_path / "docs")
    short = qdrant(tmp_path, qdrant_collection="hpsr")
    longer = qdrant(tmp_path, qdrant_collection="hpsr_dev")
    from index.qdrant_store import _collections

    for _ in range(2):
        for settings in (longer, short):
            index.build_index([docs], settings=settings, progress=False, full=True)
    for settings in (short, longer):
        hits = index.Index.load(settings=settings).search("Where is the okapi found?", 3)
        assert hits and hits[0].doc_id == "okapi-guide", settings.qdrant_collection
    assert _collections(short) and _collections(longer)
    assert not set(_collections(short)) & set(_collections(longer))
