"""SIGKILL a real `hpsr ingest` at random (seeded) moments: the index directory always loads and
answers as the old or the new version, never a mix, and the next run cleans the leftovers.

Two versions of a small corpus alternate as the build target: v1 (the small corpus and one
note) and v2 (the small corpus and a longer report, ~40 chunks to embed). A kill lands in
one of four phases: start-up and reading (random time), embedding (a random time between the
first progress line of embedding and the first staging folder, as measured on an unkilled
run), writing (a random moment after the staging folder appears) and swapping (the moment the
new generation's folder appears, before CURRENT names it).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import index
from conftest import REPO, write_small_corpus
from hostile import record
from index.settings import suite_variable

HPSR = Path(sys.executable).parent / "hpsr"
PHASES = ("start-up/reading", "embedding", "writing", "swapping")
QUESTION = "When was the Zebra Health Fund created?"


def _versions(root: Path) -> tuple[list[Path], list[Path]]:
    base = write_small_corpus(root / "base")
    (root / "v1").mkdir()
    (root / "v1" / "aardvark-note.txt").write_text(
        "Aardvark Note\n\nThe aardvark survey of 2019 counted 81 burrows near the southern clinic.\n")
    (root / "v2").mkdir()
    paras = [f"In district {i} the pangolin programme trained {i + 3} community health workers and "
             f"opened {i % 7 + 1} new posts, with a budget of {1000 + 37 * i} dollars in year {2000 + i}."
             for i in range(120)]
    (root / "v2" / "pangolin-report.md").write_text("# Pangolin Report\n\n" + "\n\n".join(paras) + "\n")
    return [base, root / "v1"], [base, root / "v2"]


def _state(index_dir: Path) -> frozenset[tuple[str, str]]:
    idx = index.Index.load(index_dir)
    assert idx.search(QUESTION, 1)[0].page == 1, "the index does not answer"
    return frozenset((c.chunk_id, c.hash) for c in idx.chunks)


def _leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".CURRENT.tmp")))


def _run(index_dir: Path, paths: list[Path], quiet: bool = True) -> subprocess.Popen:
    cmd = [str(HPSR), "--index", str(index_dir), "ingest", *(["--quiet"] if quiet else []),
           *map(str, paths)]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL if quiet else subprocess.PIPE,
                            env={**os.environ, "HPSR_INGEST_THREADS": "1"})


def _wait_for(index_dir: Path, proc: subprocess.Popen, ready) -> bool:
    while proc.poll() is None:
        try:
            if ready(os.listdir(index_dir)):
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    return False


def _calibrate(index_dir: Path, target: list[Path]) -> tuple[float, float, float]:
    """Seconds from start to the first embedding progress line, to the staging folder, to exit."""
    proc = _run(index_dir, target, quiet=False)
    t0 = time.monotonic()
    os.set_blocking(proc.stderr.fileno(), False)
    t_embed = t_write = None
    seen = b""
    while proc.poll() is None:
        seen += proc.stderr.read() or b""
        if t_embed is None and b"embedding" in seen:
            t_embed = time.monotonic() - t0
        if t_write is None and index_dir.exists() and any(
                n.startswith(".tmp-") for n in os.listdir(index_dir)):
            t_write = time.monotonic() - t0
        time.sleep(0.001)
    total = time.monotonic() - t0
    assert proc.returncode == 0
    return (t_embed or 0.6 * total), (t_write or 0.9 * total), total


def _kill_cycle(root: Path, kills: int, seed: int, phases: tuple[str, ...] = PHASES) -> dict:
    v1, v2 = _versions(root)
    index_dir = root / "index"
    states = {}
    for name, paths in (("v2", v2), ("v1", v1)):  # reference builds, in the process itself
        index.build_index(paths, index_dir=root / f"ref-{name}", progress=False)
        states[name] = _state(root / f"ref-{name}")
    assert states["v1"] != states["v2"]
    index.build_index(v1, index_dir=index_dir, progress=False)
    t_embed, t_write, total = 0.0, 0.0, 0.0
    if {"start-up/reading", "embedding"} & set(phases):  # only the timed phases need the clock
        t_embed, t_write, total = _calibrate(root / "calibration", v2)  # a cold build of v2

    rng = random.Random(seed)
    seen = {p: 0 for p in phases}
    versions_seen = {"v1": 0, "v2": 0}
    left_behind = 0
    done = 0
    attempt = 0
    current = "v1"
    while done < kills:
        attempt += 1
        assert attempt <= 3 * kills, f"only {done} of {kills} kills landed: {seen}"
        target = v2 if current == "v1" else v1  # always a build with work to do
        phase = phases[attempt % len(phases)]
        proc = _run(index_dir, target)
        t0 = time.monotonic()
        if phase == "start-up/reading":
            time.sleep(rng.uniform(0.05, t_embed))
            hit = proc.poll() is None
        elif phase == "embedding":
            time.sleep(max(0.0, rng.uniform(t_embed, t_write) - (time.monotonic() - t0)))
            hit = proc.poll() is None
        elif phase == "writing":
            hit = _wait_for(index_dir, proc, lambda names: any(n.startswith(".tmp-") for n in names))
            time.sleep(rng.uniform(0, 0.3))
        else:
            before = set(p.name for p in index_dir.glob("gen-*"))
            hit = _wait_for(index_dir, proc, lambda names: any(
                n.startswith("gen-") and n not in before for n in names))
        if hit:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = _state(index_dir)  # loads and answers, or fails the test
        version = [v for v, s in states.items() if s == state]
        assert version, f"after a kill in {phase}, the index is neither v1 nor v2"
        current = version[0]
        versions_seen[current] += 1
        if hit and proc.returncode == -signal.SIGKILL:
            done += 1
            seen[phase] += 1
            left_behind += bool(_leftovers(index_dir))
    # The next unkilled run finishes the job and removes every leftover.
    final = _run(index_dir, v2)
    assert final.wait() == 0
    assert _state(index_dir) == states["v2"]
    assert not _leftovers(index_dir), _leftovers(index_dir)
    assert len(list(index_dir.glob("gen-*"))) <= 2
    return {"kills": done, "attempts": attempt, "by_phase": seen, "loaded_as": versions_seen,
            "runs_leaving_temporaries": left_behind, "build_seconds": round(total, 1)}


def test_a_kill_while_the_new_generation_is_written(tmp_path):
    """The fast run: one kill while the new generation is written (the soak covers all phases)."""
    figures = _kill_cycle(tmp_path, kills=1, seed=7, phases=("writing",))
    assert figures["by_phase"] == {"writing": 1}, figures


@pytest.mark.soak
def test_soak_random_kills(tmp_path):
    kills = int(suite_variable("HPSR_SOAK_KILLS", "24"))
    figures = _kill_cycle(tmp_path, kills=kills, seed=2026)
    assert figures["kills"] >= kills and all(figures["by_phase"].values()), figures
    record("kills", **figures, command="pytest -m soak tests/test_kills.py")
