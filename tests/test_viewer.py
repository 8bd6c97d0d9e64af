"""Verify at the source: each citation opens its document at the cited page with the quoted
words highlighted (pdf.js in Debian's Chromium, served by the chat itself), printed page
numbers, `hpsr ask` and `hpsr remove`, and no path from the client reaching the file system."""
from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
import urllib.error
import urllib.request

import pytest

from chatbot.viewer import pdfjs_dir
from conftest import REPO, eval_questions
from index.settings import Settings, suite_variable
from test_app import ARGS, CHROMIUM, _ask, _open

ARTIFACTS = REPO / "tests" / "artifacts"


def squeeze(text: str) -> str:
    """Letters and digits only, lowercase (the viewer matches quotes the same way)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


@pytest.fixture(scope="module")
def chat(corpus_index, tmp_path_factory):
    """The chat on a copy of the bundled index (its own copy: the remove test changes it)."""
    import shutil

    from chatbot.app import build_app, start
    from index import Settings
    from hostile import free_port

    root = tmp_path_factory.mktemp("viewer")
    shutil.copytree(corpus_index, root / "index")
    settings = Settings.load(index_dir=root / "index", library_dir=root / "uploads")
    demo = build_app(settings)
    port = free_port()
    start(demo, settings, port=port)
    yield {"url": f"http://127.0.0.1:{port}", "settings": settings}
    demo.close()


@pytest.fixture(scope="module")
def page(chat):
    import os

    if not os.path.exists(CHROMIUM):
        if suite_variable("HPSR_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if pdfjs_dir(Settings.load().pdfjs_dir) is None:
        if suite_variable("HPSR_REQUIRE_BROWSER"):
            pytest.fail("pdf.js is not installed: `make setup` installs it with npm")
        pytest.skip("pdf.js is not installed (`make setup` installs it with npm)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        outside: list[str] = []
        context.on("request", lambda r: None if r.url.startswith((chat["url"], "data:", "blob:"))
                   else outside.append(r.url))
        yield {"context": context, "outside": outside}
        browser.close()


def _opened(tab) -> dict:
    """Wait for the viewer to finish; what it shows."""
    tab.wait_for_selector('#status[data-done="1"]', state="attached", timeout=30_000)
    status = tab.locator("#status")
    return {k: status.get_attribute(f"data-{k}") for k in ("page", "highlight", "ms", "error")}


@pytest.mark.browser
def test_clicking_a_citation_opens_the_page_with_the_sentence_highlighted(chat, page):
    from gradio_client import Client

    question = "How many family medicine centres are there in Kosovo?"
    expected = Client(chat["url"], verbose=False).predict(question, "", "", api_name="/answer")["citations"][0]
    tab = page["context"].new_page()
    _open(tab, chat["url"])
    _ask(tab, question)
    link = tab.locator("#chatbot a", has_text="[1]").first
    link.wait_for(timeout=30_000)
    with page["context"].expect_page() as opened:
        link.click()
    viewer = opened.value
    shown = _opened(viewer)
    assert shown["error"] is None, shown
    assert int(shown["page"]) == expected["page"], (shown, expected["page"])
    printed = viewer.locator("#where").inner_text()  # "p. 12 (PDF p. 20)", as the citation reads
    assert "(PDF p. " in printed and printed in expected["where"], (printed, expected["where"])
    for sentence in expected["quoted"]:
        assert squeeze(sentence) in squeeze(shown["highlight"]), (sentence, shown["highlight"])
    # What a reader sees: the page drawn, the words marked on it.
    assert viewer.locator(".page canvas").count() == 1 and viewer.locator(".textLayer span.hl").count() > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(path=str(ARTIFACTS / "viewer.png"))
    assert page["outside"] == [], f"requests left the machine: {page['outside']}"


@pytest.mark.browser
def test_every_citation_of_the_dev_questions_opens_at_its_page_highlighted(chat, page):
    """The dev questions the chat answers, every citation of each: the viewer shows the cited
    physical page and its highlight holds each quoted sentence (table cells for a table)."""
    from chatbot.app import ChatApp

    app = ChatApp(chat["settings"])
    questions = eval_questions("dev", "report", "pdfs", "tables")
    tab = page["context"].new_page()
    checked, misses, times = 0, [], []
    answered = 0
    for q in questions:
        result = app.answer_api(q["question"])
        if result["abstained"]:
            continue
        answered += 1
        for c in result["citations"]:
            t0 = time.perf_counter()
            tab.goto(chat["url"] + c["viewer_url"])
            shown = _opened(tab)
            times.append((time.perf_counter() - t0) * 1000)
            quotes = c["quoted"]  # sentences, or the cells of the table rows on that page
            ok = (shown["error"] is None and (c["page"] is None or int(shown["page"]) == c["page"])
                  and all(squeeze(s) in squeeze(shown["highlight"] or "") for s in quotes))
            checked += 1
            if not ok:
                misses.append((q["id"], c["number"], c["page"], shown))
        if answered >= 25:
            break
    figures = {"questions": answered, "citations": checked, "misses": len(misses),
               "open_ms_p50": round(statistics.median(times)), "open_ms_max": round(max(times))}
    print(f"\n[viewer] {figures}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "viewer.json").write_text(json.dumps(figures, indent=1))
    assert answered >= 10 and checked >= 10, figures
    assert not misses, f"{len(misses)} of {checked} citations missed their page or highlight: {misses[:3]}"
    assert page["outside"] == [], f"requests left the machine: {page['outside']}"


@pytest.mark.browser
def test_a_text_document_is_shown_with_the_passage_marked(chat, page):
    from chatbot.app import ChatApp

    c = ChatApp(chat["settings"]).answer_api("When was Health Systems Global founded?")["citations"][0]
    assert c["doc_id"] == "partners-hpsr-report-2021" and c["page"] is None
    tab = page["context"].new_page()
    tab.goto(chat["url"] + c["viewer_url"])
    shown = _opened(tab)
    assert squeeze(c["quoted"][0]) in squeeze(shown["highlight"]), shown
    assert tab.locator("pre.text mark").count() >= 1 and tab.locator("pre.text script").count() == 0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read(2000).decode("utf-8", "replace")


@pytest.mark.parametrize("path", [
    "/hpsr/doc/not-indexed",
    "/hpsr/doc/..%2F..%2Fetc%2Fpasswd",
    "/hpsr/doc/%2Fetc%2Fpasswd",
    "/hpsr/doc/../../../../etc/passwd",
    "/hpsr/meta/..%2Fcorpus",
    "/hpsr/static/../../index/settings.py",
    "/hpsr/pdfjs/../../../../../etc/passwd",
    "/hpsr/static/%2e%2e/%2e%2e/index/settings.py",
])
def test_crafted_urls_for_files_outside_the_index_are_refused(chat, path):
    status, body = _get(chat["url"] + path)
    assert status in (404, 400), (status, body[:200])
    assert "root:" not in body and "REPO_ROOT" not in body


def test_the_viewer_serves_indexed_documents_by_id(chat):
    status, body = _get(chat["url"] + "/hpsr/meta/financial-protection-portugal-2025")
    assert status == 200 and json.loads(body)["kind"] == "pdf"
    with urllib.request.urlopen(chat["url"] + "/hpsr/doc/financial-protection-portugal-2025") as r:
        assert r.headers["Content-Type"] == "application/pdf" and r.read(5) == b"%PDF-"


@pytest.mark.browser
def test_a_crafted_viewer_link_for_a_document_outside_the_index_says_so(chat, page):
    tab = page["context"].new_page()
    tab.goto(chat["url"] + "/hpsr/viewer?doc=..%2F..%2Fetc%2Fpasswd&page=1&q=root")
    shown = _opened(tab)
    assert shown["error"] == "404" and "not in the index" in tab.locator("#title").inner_text()


# --- printed page numbers ---------------------------------------------------------------------------

def test_citations_show_the_printed_page_and_the_pdf_page(corpus_index, capsys):
    from chatbot.cli import main
    from index import Index

    idx = Index.load(corpus_index)
    hit = next(h for h in idx.search("Portugal waiting lists for elective surgery managed centrally", 10)
               if h.doc_id == "financial-protection-portugal-2025" and h.page == 29)
    assert hit.page_label == "13" and hit.citation().endswith("p. 13 (PDF p. 29)"), hit.citation()
    same = next(h for h in idx.search("digital health", 20) if h.doc_id.startswith("digital-health"))
    assert same.page_label == str(same.page) and same.citation().endswith(f"p. {same.page}")
    assert main(["--index", str(corpus_index), "search", "Portugal waiting lists for elective surgery managed centrally", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all("page_label" in r for r in rows) and any(r["page"] == 29 and r["page_label"] == "13" for r in rows)


# --- hpsr ask, hpsr remove ----------------------------------------------------------------------------

def test_hpsr_ask_answers_with_sources_and_exit_codes(corpus_index, capsys):
    from chatbot.cli import ABSTAINED, ANSWERED, main

    assert main(["--index", str(corpus_index), "ask", "How many family medicine centres are there in Kosovo?"]) == ANSWERED
    out = capsys.readouterr().out
    assert re.search(r"\[1\]", out) and "Sources:" in out and "(PDF p. " in out, out
    assert re.search(r"file:///\S+phc-palliative-assessment-kosovo-2025\.pdf#page=\d+", out), out
    assert main(["--index", str(corpus_index), "ask", "What is the life expectancy at birth in Japan?"]) == ABSTAINED
    out = capsys.readouterr().out
    assert "No document mentions Japan" in out and "Nearest passages" in out
    assert main(["--index", str(corpus_index), "ask", "How many nurses were there in Cabo Verde in 2022?",
                 "--json"]) == ANSWERED
    data = json.loads(capsys.readouterr().out)
    assert data["table"]["rows"] == [["Nurses", "935"]] and data["citations"][0]["file_url"].endswith("#page=25")
    assert main(["--index", str(corpus_index), "ask", "and how many members does it have?",
                 "--previous", "When was Health Systems Global founded?"]) == ANSWERED
    assert "Searched as: How many members does Health Systems Global have?" in capsys.readouterr().out
    assert main(["--index", str(corpus_index), "ask", "  "]) == 2
    assert "empty" in capsys.readouterr().err


def test_hpsr_remove_takes_a_document_out_and_keeps_it_out(small_corpus, tmp_path, capsys):
    import index
    from chatbot.cli import main

    idx_dir = tmp_path / "index"
    index.build_index([small_corpus], idx_dir, progress=False)
    assert main(["--index", str(idx_dir), "remove", "okapi-guide"]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert "okapi-guide" not in index.Index.load(idx_dir).documents
    assert (small_corpus / "okapi-guide.md").exists(), "its file must stay"
    index.build_index(None, idx_dir, progress=False)  # a later rebuild of the same folder
    assert "okapi-guide" not in index.Index.load(idx_dir).documents
    assert main(["--index", str(idx_dir), "remove", "no-such-doc"]) == 2
    assert "no document 'no-such-doc'" in capsys.readouterr().err
    index.build_index([small_corpus / "okapi-guide.md", small_corpus], idx_dir, progress=False)
    assert "okapi-guide" in index.Index.load(idx_dir).documents  # naming its file takes it back


@pytest.mark.browser
def test_the_remove_control_asks_first_then_removes(chat, page):
    from playwright.sync_api import expect

    tab = page["context"].new_page()
    _open(tab, chat["url"])
    tab.get_by_text("Remove a document").click()
    tab.locator("#remove-doc input").fill("mental-health")
    tab.get_by_role("option", name=re.compile("Improving access to mental health care")).first.click()
    tab.locator("#remove").click()
    expect(tab.locator("#remove-confirm-text")).to_contain_text("Improving access to mental health care")
    tab.locator("#remove-cancel").click()
    expect(tab.locator("#remove-status")).to_contain_text("Nothing was removed")
    import index

    assert "mental-health-access-ireland-2025" in index.Index.load(chat["settings"].index_dir).documents
    tab.locator("#remove").click()
    tab.locator("#remove-confirm").click()
    expect(tab.locator("#remove-status")).to_contain_text("Removed mental-health-access-ireland-2025",
                                                          timeout=60_000)
    assert "mental-health-access-ireland-2025" not in index.Index.load(chat["settings"].index_dir).documents
