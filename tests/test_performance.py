"""Performance features that must keep working: the compressed FAISS index, and start-up paying
only for what the request needs (timed figures live in bench/, not here)."""
from __future__ import annotations

import json
import subprocess
import sys

import faiss
import numpy as np
import pytest

import index
from conftest import REPO, eval_questions
from index.embedder import Embedder, embedder_for, onnx_model
from index.settings import COMPRESS_ABOVE, Settings
from index.store import current_generation, vector_index

QUERIES = ["how many zebras were counted", "where does the okapi live", "lemur villages"]


def test_sq8_index_finds_what_the_flat_index_finds(tmp_path, small_corpus, small_index):
    report = index.build_index([small_corpus], tmp_path / "sq8", Settings.load(vector_index="sq8"),
                               progress=False)
    assert report.swapped
    manifest = json.loads((current_generation(tmp_path / "sq8") / "manifest.json").read_text())
    assert manifest["vector_index"] == "sq8"
    sq8, flat = index.Index.load(tmp_path / "sq8"), index.Index.load(small_index)
    assert isinstance(sq8.generation.faiss_index, faiss.IndexScalarQuantizer)
    assert isinstance(flat.generation.faiss_index, faiss.IndexFlatIP)
    for q in QUERIES:  # a handful of vectors trains sq8 poorly; close neighbours may swap
        a, b = sq8.search(q, 3, mode="dense"), flat.search(q, 3, mode="dense")
        assert b[0].chunk_id in [h.chunk_id for h in a[:2]], q
        assert a[0].similarity == pytest.approx(b[0].similarity, abs=0.03), q
    # The embeddings as computed are kept beside the 8-bit index (float16), so a rebuild reuses
    # them without compounding quantization error, and can go back to an exact flat index.
    exact = flat.generation.vectors()
    assert (sq8.generation.vectors() * exact).sum(1).min() > 0.9999
    again = index.build_index([small_corpus], tmp_path / "sq8", Settings.load(vector_index="flat"),
                              progress=False)
    assert again.swapped and again.embedded == 0 and again.chunks == report.chunks, again.summary()
    back = index.Index.load(tmp_path / "sq8")
    assert isinstance(back.generation.faiss_index, faiss.IndexFlatIP)
    assert (back.generation.vectors() * exact).sum(1).min() > 0.9999


def test_sq8_recall_against_flat_on_the_bundled_corpus(corpus_index):
    idx = index.Index.load(corpus_index)
    vectors = idx.generation.vectors()
    questions = [q["question"] for q in eval_questions("dev")]
    queries = idx.embedder.encode(questions)
    _, exact = vector_index(vectors, vectors.shape[1], "flat").search(queries, 10)
    _, approx = vector_index(vectors, vectors.shape[1], "sq8").search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approx, exact)])
    assert recall >= 0.95, recall


def test_auto_compresses_only_large_indexes():
    auto = Settings.load()
    assert auto.vector_index == "auto"
    assert auto.vector_kind(COMPRESS_ABOVE - 1) == "flat" and auto.vector_kind(COMPRESS_ABOVE) == "sq8"
    assert Settings.load(vector_index="flat").vector_kind(10 * COMPRESS_ABOVE) == "flat"
    with pytest.raises(index.ConfigError, match="HPSR_VECTOR_INDEX"):
        Settings.load(vector_index="ivf")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, cwd=REPO, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_the_package_loads_no_model_or_ui():
    mods = _modules_after("import index, ingest, chatbot.answer")
    assert not {"torch", "sentence_transformers", "gradio", "onnxruntime", "bm25s"} & mods


def test_bm25_search_never_loads_the_embedding_model(small_index):
    mods = _modules_after(f"import index; h = index.Index.load({str(small_index)!r}).search('okapi', 3, mode='bm25')\n"
                          "assert h and h[0].doc_id == 'okapi-guide', h")
    assert not {"torch", "sentence_transformers", "onnxruntime"} & mods


def test_default_backend_answers_without_torch(small_index):
    mods = _modules_after(f"import index; idx = index.Index.load({str(small_index)!r})\n"
                          "assert idx.settings.backend == 'onnx'\n"
                          "h = idx.search('where does the forest giraffe live', 3)\n"
                          "assert h[0].doc_id == 'okapi-guide', h")
    assert "onnxruntime" in mods and not {"torch", "sentence_transformers", "transformers"} & mods


TEXTS = ["The okapi is a forest giraffe found only in the Ituri rainforest.",
         "Health Systems Global was founded in 2012 and has members in over 100 countries.",
         "When was the fixed co-payment for inpatient stays introduced?",
         "Out-of-pocket payments " * 60]  # longer than the model reads: truncated like torch


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return embedder_for(Settings.load(backend="torch")).encode(TEXTS)


def test_onnx_fp32_matches_torch(reference):
    vecs = embedder_for(Settings.load(backend="onnx")).encode(TEXTS)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert (vecs * reference).sum(1).min() > 0.9999


def test_onnx_int8_stays_close_to_torch(reference):
    vecs = embedder_for(Settings.load(backend="onnx-int8")).encode(TEXTS)
    cos = (vecs * reference).sum(1)
    assert cos.min() > 0.97 and cos.mean() > 0.98, cos


def test_onnx_export_is_made_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("HPSR_CACHE", str(tmp_path))  # a fresh cache: the export really runs
    first = onnx_model(int8=True, cache=Settings.load().cache_dir)
    assert first.is_relative_to(tmp_path) and (first.parent / "model.onnx").is_file()
    stamp = first.stat().st_mtime_ns
    assert onnx_model(int8=True, cache=tmp_path) == first and first.stat().st_mtime_ns == stamp
    assert not list(first.parent.glob("*.tmp")), "temporary export files left behind"
    vecs = Embedder("onnx-int8", Settings.load().cache_dir).encode(TEXTS)  # a new embedder: it loads the fresh export
    assert (vecs * embedder_for(Settings.load(backend="onnx-int8")).encode(TEXTS)).sum(1).min() > 0.9999


def test_onnx_export_failure_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("HPSR_CACHE", str(tmp_path / "file"))
    with pytest.raises(index.ConfigError, match="HPSR_CACHE"):
        onnx_model(int8=False, cache=Settings.load().cache_dir)


def test_default_backend_is_onnx_fp32():
    assert Settings.load().backend == "onnx"
    assert Settings.load(backend="torch").backend == "torch"


def test_index_refuses_an_embedder_of_other_precision(small_index):
    settings = Settings.load()
    other = "onnx" if settings.backend == "onnx-int8" else "onnx-int8"
    with pytest.raises(index.IndexMismatchError, match="vectors"):
        index.Index.load(small_index, embedder=embedder_for(Settings.load(backend=other)))


def test_unknown_backend_is_a_config_error():
    with pytest.raises(index.ConfigError, match="HPSR_BACKEND"):
        Settings.load(backend="cuda")


def test_parallel_reading_gives_the_same_index_and_reasons(tmp_path, make_small_corpus, small_index, monkeypatch):
    import index.build

    docs = make_small_corpus(tmp_path / "docs")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a PDF")
    monkeypatch.setattr(index.build, "PARALLEL_READ_BYTES", 0)  # read in worker processes
    steps = []
    report = index.build_index([docs], tmp_path / "index", progress=lambda stage, done, total: steps.append(stage))
    assert [p for p, _ in report.skipped] == [str(docs / "broken.pdf")], report.summary()
    assert "PDF" in report.skipped[0][1], report.skipped
    assert steps.count("files") == 4, steps  # one progress step per file, read or skipped
    parallel, serial = index.Index.load(tmp_path / "index"), index.Index.load(small_index)
    assert [(c.doc_id, c.page, c.text) for c in parallel.chunks] == [(c.doc_id, c.page, c.text) for c in serial.chunks]


def test_a_text_gets_the_same_vector_whatever_it_is_embedded_with():
    """The build reuses vectors by text: that needs one vector per text, batch or not."""
    embedder = embedder_for(Settings.load())
    alone = embedder.encode([TEXTS[0]])
    together = embedder.encode(TEXTS[::-1], batch_size=32)[-1:]
    assert np.abs(alone - together).max() < 1e-6
