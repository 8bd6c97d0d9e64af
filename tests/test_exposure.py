"""Exposure: the real `hpsr chat` binds 127.0.0.1 and, with --auth, refuses the page and the API
without credentials; uploads cannot write outside the library folder or pull in server files;
nothing from an index directory is unpickled or run."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import index
import index.store
from chatbot.viewer import pdfjs_dir
from conftest import REPO
from hostile import free_port, serve

HPSR = Path(sys.executable).parent / "hpsr"
INTRO = "Ask about the indexed health policy"


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.rsplit(":", 1)
            if int(p, 16) == port and state == "0A":  # 0A = LISTEN
                out.append(addr)
    return out


def _http(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


VIEWER_PATHS = ("/hpsr/viewer?doc=zebra-report&page=2", "/hpsr/meta/zebra-report", "/hpsr/doc/zebra-report",
                "/hpsr/doc/okapi-guide", "/hpsr/static/viewer.js") + (
                ("/hpsr/pdfjs/build/pdf.min.mjs",) if pdfjs_dir(index.Settings.load().pdfjs_dir) else ())


@pytest.fixture(scope="module")
def served_with_auth(small_index, tmp_path_factory):
    """`hpsr chat --auth` as a user would start it, on a copy of the small index."""
    root = tmp_path_factory.mktemp("exposed")
    shutil.copytree(small_index, root / "index")
    port = free_port()
    log = open(root / "chat.log", "w")
    proc = subprocess.Popen([str(HPSR), "--index", str(root / "index"), "chat", "--port", str(port),
                             "--auth", "alice:wonder-land-7"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "HPSR_LIBRARY": str(root / "uploads")})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url + "/", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    assert proc.poll() is None, (root / "chat.log").read_text()
    yield {"url": url, "port": port}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_chat_binds_loopback_only(served_with_auth):
    addrs = _listening(served_with_auth["port"])
    assert addrs == ["0100007F"], f"listening on {addrs}, expected only 127.0.0.1"


def test_without_credentials_page_and_api_are_refused(served_with_auth):
    url = served_with_auth["url"]
    status, page = _http(url + "/")
    assert INTRO not in page, "the chat page is served without logging in"
    for path in ("/config", "/gradio_api/info"):
        status, _ = _http(url + path)
        assert status in (401, 403), f"GET {path} without credentials gave {status}"
    body = json.dumps({"data": ["When was the Zebra Health Fund created?", "", ""]}).encode()
    status, text = _http(url + "/gradio_api/call/answer", body, {"Content-Type": "application/json"})
    assert status in (401, 403), f"POST /gradio_api/call/answer without credentials gave {status}: {text[:200]}"
    status, _ = _http(url + "/gradio_api/upload", b"--x--\r\n", {"Content-Type": "multipart/form-data; boundary=x"})
    assert status in (401, 403), f"POST /gradio_api/upload without credentials gave {status}"
    from gradio_client import Client

    from gradio_client.exceptions import AuthenticationError

    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(url, verbose=False).predict("When was the Zebra Health Fund created?", "", "",
                                           api_name="/answer")
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("alice", "wrong"), verbose=False)
    for path in VIEWER_PATHS:  # the source viewer and the documents it serves
        status, text = _http(url + path)
        assert status in (401, 403), f"GET {path} without credentials gave {status}: {text[:100]}"


def test_with_credentials_page_and_api_work(served_with_auth):
    from gradio_client import Client

    url = served_with_auth["url"]
    result = Client(url, auth=("alice", "wonder-land-7"), verbose=False).predict(
        "When was the Zebra Health Fund created?", "", "", api_name="/answer")
    assert "1999" in result["answer"], result
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    opener.open(urllib.request.Request(url + "/login", data=b"username=alice&password=wonder-land-7"))
    assert INTRO in opener.open(url + "/config").read().decode()
    for path in VIEWER_PATHS:
        assert opener.open(url + path).status == 200, path


def test_the_viewer_refuses_everyone_when_the_login_cannot_be_checked(small_index, tmp_path):
    """The viewer checks the chat's login through Gradio's session store. If an upgrade renames
    what it looks at, it must refuse everyone (401), not serve everyone."""
    from chatbot.app import build_app, start

    shutil.copytree(small_index, tmp_path / "index")
    settings = index.Settings.load(index_dir=tmp_path / "index", library_dir=tmp_path / "library")
    demo = build_app(settings)
    port = free_port()
    start(demo, settings, port=port, auth=("alice", "wonder-land-7"))
    url = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        opener.open(urllib.request.Request(url + "/login", data=b"username=alice&password=wonder-land-7"))
        assert opener.open(url + VIEWER_PATHS[0]).status == 200  # logged in: served
        app = demo.app
        for name in ("auth", "auth_dependency", "tokens", "cookie_id"):  # as if renamed by an upgrade
            if hasattr(app, name):
                setattr(app, f"renamed_{name}", getattr(app, name))
                delattr(app, name)
        for path in VIEWER_PATHS:
            status, _ = _http(url + path)
            assert status == 401, f"GET {path} without a login, the session store gone, gave {status}"
            with pytest.raises(urllib.error.HTTPError, match="401"):
                opener.open(url + path)  # logged in, but the login cannot be checked: refused
    finally:
        demo.close()


# --- uploads -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(small_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("upload-app")
    shutil.copytree(small_index, root / "index")
    settings = index.Settings.load(index_dir=root / "index", library_dir=root / "box" / "uploads")
    demo, url = serve(settings)
    yield {"url": url, "root": root, "settings": settings}
    demo.close()


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "hpsrboundary7"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _call(url: str, api: str, data: list) -> str:
    status, text = _http(f"{url}gradio_api/call/{api}", json.dumps({"data": data}).encode(),
                         {"Content-Type": "application/json"})
    assert status == 200, (status, text)
    event = json.loads(text)["event_id"]
    return _http(f"{url}gradio_api/call/{api}/{event}")[1]


@pytest.mark.parametrize("name", ["../../escape-1.txt", "..\\..\\escape-2.txt", "/tmp/escape-3.txt",
                                  "....//....//escape-4.txt", "%2e%2e%2fescape-5.txt", ".escape-6.txt",
                                  "escape-7.txt\x00.pdf", "\u202etxt.exe-8.txt", "a" * 300 + ".txt"])
def test_uploaded_file_names_stay_in_the_library_folder(app, name):
    """A real multipart upload with a hostile file name, then the add_documents API."""
    root, library = app["root"], app["settings"].library_dir
    before = {p for p in root.rglob("*")}
    body, ctype = _multipart(name, b"The wombat clinic opened in 2011 in the eastern hills of Tasmania.\n")
    status, text = _http(app["url"] + "gradio_api/upload", body, {"Content-Type": ctype})
    assert status == 200, (status, text)
    uploaded = json.loads(text)[0]
    result = _call(app["url"], "add_documents", [[{"path": uploaded, "meta": {"_type": "gradio.FileData"}}]])
    assert "event: complete" in result and re.search(r"1 (added|skipped)|not added", result), result[-400:]
    assert str(root) not in result and "location:" not in result, "the summary shows where the index lies"
    new = {p for p in root.rglob("*")} - before
    outside = [p for p in new if not p.is_relative_to(library) and p not in library.parents
               and not p.is_relative_to(root / "index")]
    assert not outside, f"files written outside {library}: {outside}"
    assert not list(Path("/tmp").glob("escape-*")) and not list(root.parent.glob("escape-*"))
    assert all(p.name[0] != "." for p in library.iterdir()), list(library.iterdir())


def test_add_documents_refuses_server_files_outside_the_upload_cache(app, tmp_path):
    secret = tmp_path / "server-secret.txt"
    secret.write_text("The server secret is hunter2 and it must never be indexed.\n")
    result = _call(app["url"], "add_documents", [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]])
    assert "error" in result.lower(), result[:300]
    library = app["settings"].library_dir
    assert not library.exists() or not any("secret" in p.name for p in library.iterdir())
    assert not any("hunter2" in c.text for c in index.Index.load(app["settings"].index_dir).chunks)


# --- no pickles --------------------------------------------------------------------------------

class _Planted:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_planted_pickle_in_the_index_is_refused_not_run(small_index, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(small_index, index_dir)
    gen = index_dir / (index_dir / "CURRENT").read_text().strip()
    marker = tmp_path / "pickle-ran"
    evil = np.array([_Planted(str(marker))], dtype=object)
    np.save(gen / "bm25" / "data.csc.index.npy", evil, allow_pickle=True)
    for name in ("index.pkl", "bm25/model.pkl", "vectors.pickle"):
        with open(gen / name, "wb") as f:
            np.save(f, evil, allow_pickle=True)
    with pytest.raises(index.IndexCorruptError, match="damaged"):
        index.Index.load(index_dir)  # the manifest's checksums catch it first...
    manifest = json.loads((gen / "manifest.json").read_text())
    target = gen / "bm25" / "data.csc.index.npy"
    manifest["contents"]["bm25/data.csc.index.npy"] = [target.stat().st_size, index.store.checksum(target)]
    (gen / "manifest.json").write_text(json.dumps(manifest))
    idx = index.Index.load(index_dir)  # ...and a planter who rewrites them meets allow_pickle=False
    with pytest.raises(index.IndexCorruptError) as info:
        idx.search("zebra", 3, mode="bm25")
    assert "hpsr ingest" in str(info.value)
    assert not marker.exists(), "a pickle from the index directory was executed"


def test_no_code_path_unpickles():
    """No module of the app imports pickle, calls torch.load, allows pickles in np.load, or calls
    the eval/exec builtins (a method such as torch's `module.eval()` is not the builtin)."""
    hits = []
    for path in sorted(REPO.glob("*/*.py")):
        if path.parts[-2] not in ("ingest", "index", "chatbot"):
            continue
        text = path.read_text()
        for needle in (r"import pickle", r"pickle\.load", r"torch\.load", r"allow_pickle=True", r"joblib",
                       r"(?<![.\w])eval\(", r"(?<![.\w])exec\("):
            if re.search(needle, text):
                hits.append(f"{path.relative_to(REPO)}: {needle}")
    assert not hits, hits
