"""The command line as a user runs it (a real `hpsr` process): exit statuses, output into a
pipe, progress written to a file, and a package that installs without warnings."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

HPSR = Path(sys.executable).parent / "hpsr"


def _run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(HPSR), *args], capture_output=True, text=True, timeout=300, **kw)


def test_ingest_of_paths_that_do_not_exist_fails_and_changes_nothing(small_index, tmp_path):
    shutil.copytree(small_index, tmp_path / "index")
    before = sorted(p.name for p in (tmp_path / "index").iterdir())
    done = _run("--index", str(tmp_path / "index"), "ingest", str(tmp_path / "nowhere"), str(tmp_path / "nor-here.pdf"))
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "no such file or folder" in done.stderr and "unchanged" in done.stderr, done.stderr
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == before


def test_output_into_a_pipe_that_closes_early_ends_quietly(small_index):
    """`hpsr ask … | head -1` printed a BrokenPipeError traceback. Here the reader has gone
    before the command writes anything."""
    for args in (["ask", "When was the Zebra Health Fund created?"], ["search", "okapi", "-k", "5"]):
        p = subprocess.Popen([str(HPSR), "--index", str(small_index), *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdout.close()  # the reader is gone
        _, err = p.communicate(timeout=300)
        assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()[-500:]
        assert p.returncode == 141, p.returncode


def test_progress_written_to_a_file_is_a_line_per_file(small_corpus, tmp_path):
    done = _run("--index", str(tmp_path / "index"), "ingest", str(small_corpus))  # stderr is a pipe
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr, repr(done.stderr[:300])
    reading = [ln for ln in done.stderr.splitlines() if ln.startswith("reading:")]
    assert reading and reading[-1].endswith(f"{len(reading)}/{len(reading)} files"), done.stderr
    again = _run("--index", str(tmp_path / "index"), "ingest", str(small_corpus))  # nothing to embed
    assert "embedding" not in again.stderr and "0/0" not in again.stderr, again.stderr


def test_the_package_builds_without_setuptools_warnings(tmp_path):
    """`pip install` warned that the package 'chatbot.static' was absent from `packages`."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           str(REPO), "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "absent from the `packages`" not in done.stdout + done.stderr, (done.stdout + done.stderr)[-800:]
    import zipfile

    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    for needed in ("chatbot/static/viewer.js", "chatbot/data/abstain.json", "ingest/data/countries.tsv"):
        assert needed in names, needed
