"""The build's phases, each on its own (index.build: plan, classify, read, settle, assemble),
and the manifest's one codec (index.manifest)."""
from __future__ import annotations

import json
import shutil

import pytest

import index
from index.build import BuildReport, _assemble, _classify, _plan, _read, _settle
from index.manifest import FileEntry, Manifest
from index.settings import Settings
from index.store import MANIFEST, current_generation
from index.stores import store_for


class _Bar:
    def __init__(self):
        self.steps = 0

    def step(self, n: int = 1) -> None:
        self.steps += n


def test_a_manifest_round_trips_through_its_codec(small_index):
    raw = json.loads((current_generation(small_index) / MANIFEST).read_text())
    m = Manifest.from_dict(raw)
    assert m.to_dict() == {**raw, "contents": {k: list(v) for k, v in raw["contents"].items()}}
    assert Manifest.from_dict(m.to_dict()) == m
    assert m.dim == 384 and m.pages == sum(e.blocks for e in m.files.values()) and m.chunks > 0
    assert all(isinstance(e, FileEntry) for e in m.files.values())
    with pytest.raises(KeyError):
        Manifest.from_dict({k: v for k, v in raw.items() if k != "model"})


def test_the_phases_plan_classify_read_settle_assemble(tmp_path, make_small_corpus):
    docs = make_small_corpus(tmp_path / "docs")
    settings = Settings.load(index_dir=tmp_path / "index")
    index.build_index([docs], settings=settings, progress=False)
    old = store_for(settings.index_dir, settings).open(expect=settings.identity())
    # One file unchanged, one changed, one moved (same content, new name), one new.
    (docs / "lemur-notes.txt").write_text("Lemur notes, rewritten: ring-tailed lemurs sun themselves at dawn.\n")
    shutil.move(docs / "okapi-guide.md", docs / "okapi-field-guide.md")
    (docs / "tapir.md").write_text("# Tapirs\n\nTapirs are shy browsers of the forest floor.\n")
    report = BuildReport(index_dir=settings.index_dir)
    plan = _plan([docs], old, settings, False, (), report)
    assert sorted(f.name for f in plan.files) == ["lemur-notes.txt", "okapi-field-guide.md", "tapir.md",
                                                  "zebra-report.pdf"]
    bar = _Bar()
    _classify(plan, old, False, report, bar)
    assert [j.path.name for j in plan.jobs] == ["lemur-notes.txt", "tapir.md"]
    assert [(a.split("/")[-1], b.split("/")[-1]) for a, b in report.moved] == [("okapi-guide.md", "okapi-field-guide.md")]
    assert [u.split("/")[-1] for u in report.unchanged] == ["zebra-report.pdf"] and bar.steps == 2
    moved = next(k for k in plan.entries if k.endswith("okapi-field-guide.md"))
    assert plan.entries[moved].doc_id == "okapi-guide"  # a moved file keeps its id
    _read(plan, old, settings, report, bar, late=None)
    assert [a.split("/")[-1] for a in report.added] == ["tapir.md"] and bar.steps == 4
    assert [c.split("/")[-1] for c in report.changed] == ["lemur-notes.txt"]
    assert plan.entries[next(k for k in plan.entries if k.endswith("tapir.md"))].doc_id == "tapir"
    _settle(plan, old, report)
    assert report.removed == [] and report.files == 4
    chunks, blocks, vectors, _ = _assemble(plan, old, settings)
    assert {c.doc_id for c in chunks} == {"zebra-report", "okapi-guide", "lemur-notes", "tapir"}
    fresh = [c for c, v in zip(chunks, vectors) if v is None]  # to embed: the new and changed texts
    assert {c.doc_id for c in fresh} == {"lemur-notes", "tapir"}
    assert all(c.source.endswith("okapi-field-guide.md") for c in chunks if c.doc_id == "okapi-guide")
