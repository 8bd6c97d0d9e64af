"""The chat in a real browser (Debian's Chromium via Playwright) and through Gradio's API.

Set HPSR_REQUIRE_BROWSER=1 (CI does) to fail instead of skipping when Chromium is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import socket

import pytest

from conftest import REPO, write_pdf
from index.settings import suite_variable

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "tests" / "artifacts"
PAYLOAD = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(corpus_index, tmp_path_factory):
    """The chat on a copy of the bundled index, with an empty folder for uploads."""
    from chatbot.app import build_app, start
    from index import Settings

    root = tmp_path_factory.mktemp("app")
    index_dir = root / "index"
    shutil.copytree(corpus_index, index_dir)
    settings = Settings.load(index_dir=index_dir, library_dir=root / "uploads")
    demo = build_app(settings)
    port = _free_port()
    start(demo, settings, port=port)
    yield {"url": f"http://127.0.0.1:{port}/", "root": root, "settings": settings}
    demo.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if suite_variable("HPSR_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(page, url: str) -> None:
    # Not "networkidle": the page keeps a heartbeat connection to the server open.
    page.goto(url, wait_until="load")
    page.locator("#question textarea").wait_for(timeout=30_000)


def _ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


@pytest.mark.browser
def test_answer_with_citation_and_sources_panel(app, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(app["url"].rstrip("/")) or r.url.startswith("data:")
            else outside.append(r.url))
    _open(page, app["url"])
    _ask(page, "When was Health Systems Global founded?")
    chat = page.locator("#chatbot")
    expect(chat).to_contain_text("2012", timeout=30_000)
    expect(chat).to_contain_text("[1]")
    expect(page.locator("#sources")).to_contain_text("Partners’ HPSR report – 2021")
    _ask(page, "How many referrals were made to the Counselling in Primary Care programme in 2024?")
    expect(chat).to_contain_text("20 619 referrals", timeout=30_000)
    expect(page.locator("#sources")).to_contain_text("p. 17")
    # An answer from a table is a table: caption, the column asked for, the row.
    _ask(page, "How many nurses were there in Cabo Verde in 2022?")
    last = chat.locator(".message").last
    expect(last.locator("table")).to_contain_text("935", timeout=30_000)
    expect(last.locator("table th").last).to_have_text("2022 · Number")
    expect(last).to_contain_text("Table 1 Progress in human resources for health")
    expect(page.locator("#sources table")).to_contain_text("Technicians")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    assert outside == [], f"the page loaded outside resources: {outside}"
    page.close()


_CELLS = """sel => Array.from(document.querySelectorAll(sel)).map(e => {
    const r = e.getBoundingClientRect(); return [e.innerText.trim(), Math.round(r.width), Math.round(r.height)]; })"""
_NEWEST_SHOWN = """() => {
    const all = document.querySelectorAll('#chatbot .message'); const last = all[all.length - 1];
    let box = last.parentElement;
    while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
    const r = last.getBoundingClientRect(), c = box.getBoundingClientRect();
    return r.top >= c.top - 1 && r.top < c.bottom - 40; }"""


@pytest.mark.browser
def test_wide_tables_stay_readable_and_a_new_answer_is_in_view(app, browser):
    """A thirteen-column table stacked its headers a letter per line, broke "Nurses" into
    "Nu/rse/s" and ran off the panel; a new answer landed off-screen when the reader had
    scrolled the chat up; the sources panel was a box of its own that cut passages off."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _open(page, app["url"])
    chat = page.locator("#chatbot")
    _ask(page, "How many nurses were there in Cabo Verde in 2022?")
    expect(chat.locator(".message").last.locator("table")).to_contain_text("935", timeout=30_000)
    # The sources panel shows the columns the answer uses, every cell wide enough to read.
    headers = page.evaluate(_CELLS, "#sources th")
    assert [h for h, _, _ in headers] == ["", "2022 · Number"], headers
    labels = page.evaluate(_CELLS, "#sources td:first-child")
    assert labels and all(w >= 100 for _, w, _ in labels), labels
    # All thirteen columns, in the chat and in the panel: the table scrolls sideways; no cell is
    # squeezed to a few letters, no label broken over lines.
    _ask(page, "What does the human resources table show for nurses in Cabo Verde?")
    expect(chat.locator(".message").last.locator("table")).to_contain_text("Nurses", timeout=30_000)
    expect(page.locator("#sources th")).to_have_count(13, timeout=30_000)
    for where in ("#chatbot .message:last-child", "#sources"):
        cells = page.evaluate(_CELLS, f"{where} th, {where} td")
        assert len(cells) >= 13 and all(w >= 60 for _, w, _ in cells), (where, cells)
        line = max(h for text, _, h in cells if text == "Nurses")
        assert line < 60, f"{where}: 'Nurses' is broken over lines ({line}px high)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wide-table.png"))
    # Scrolled up to the first answer (with the wheel, as a reader does), the reader asks again:
    # the new answer comes into view.
    page.locator("#chatbot").hover()
    for _ in range(10):
        page.mouse.wheel(0, -600)
    page.wait_for_timeout(300)
    _ask(page, "How many referrals were made to the Counselling in Primary Care programme in 2024?")
    expect(chat.locator(".message").last).to_contain_text("20 619 referrals", timeout=30_000)
    page.wait_for_timeout(500)
    assert page.evaluate(_NEWEST_SHOWN), "the new answer is out of view"
    panel = page.evaluate("() => { const e = document.querySelector('#sources'); return [e.scrollHeight, e.clientHeight]; }")
    assert panel[0] <= panel[1] + 1, f"the sources panel scrolls inside itself: {panel}"
    page.close()


@pytest.mark.browser
def test_out_of_scope_question_is_refused_with_its_reason(app, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    _open(page, app["url"])
    _ask(page, "What is the life expectancy at birth in Japan?")
    chat = page.locator("#chatbot")
    expect(chat).to_contain_text("don't answer this question", timeout=30_000)
    expect(chat).to_contain_text("No document mentions Japan")
    expect(page.locator("#sources")).to_contain_text("low confidence")
    # A follow-up is judged on its own subject, and the question as searched is shown.
    _ask(page, "When was Health Systems Global founded?")
    expect(chat).to_contain_text("2012", timeout=30_000)
    _ask(page, "And how many members does it have?")
    expect(chat).to_contain_text("Searched as: How many members does Health Systems Global have?", timeout=30_000)
    expect(chat).to_contain_text("2000 members")
    _ask(page, "and what is the capital of France?")
    expect(chat.locator(".message").last).to_contain_text("don't answer this question", timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "abstain.png"), full_page=True)
    page.close()


MARKDOWN_TRAPS = """Wombat Clinic Fees

The wombat clinic charges $5 for a visit and $10 for a home call, said the wombat report.

16. Obas KA, Gerold J. Wombat clinic study protocol. BMJ Open. 2020;10(9):e038889.

Wombat fees overview
---------------------

Fees were set in 2019 by the Wombat Council[1] after a review of wombat clinic costs.
"""


@pytest.mark.browser
def test_passages_are_shown_as_text_not_markdown(app, browser, tmp_path):
    """A reference line "16." is no numbered list, a line over dashes no heading, $...$ no math,
    and a document's footnote mark [1] no citation."""
    from playwright.sync_api import expect

    from chatbot.app import ChatApp

    doc = tmp_path / "wombat-fees.txt"
    doc.write_text(MARKDOWN_TRAPS, encoding="utf-8")
    ChatApp(app["settings"]).add_documents([str(doc)])
    page = browser.new_page()
    _open(page, app["url"])
    _ask(page, "How much does the wombat clinic charge for a visit?")
    sources = page.locator("#sources")
    expect(sources).to_contain_text("$5 for a visit and $10", timeout=30_000)
    _ask(page, "Who set the wombat clinic fees?")
    expect(sources).to_contain_text("Wombat Council", timeout=30_000)
    expect(page.locator("#chatbot")).not_to_contain_text("Council[1]")
    page.wait_for_timeout(500)
    assert sources.locator("ol, h1, h2, h3, .katex, math").count() == 0, sources.inner_html()[:2000]
    assert "Council¹" in sources.inner_text(), sources.inner_text()
    page.close()


@pytest.mark.browser
def test_upload_is_indexed_and_hostile_text_never_runs(app, browser, tmp_path):
    from playwright.sync_api import expect

    pdf = write_pdf(tmp_path / "quokka report.pdf", [[
        "The Quokka Health Trust trained 312 midwives in the year 2023.",
        f"Payload for testing: {PAYLOAD}"]])
    page = browser.new_page()
    page.on("dialog", lambda d: d.dismiss())
    _open(page, app["url"])
    page.get_by_text("Add documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(pdf))
    page.wait_for_timeout(1500)  # the file is uploaded to the server before the click
    page.locator("#add").click()
    expect(page.locator("#upload-status")).to_contain_text("1 added", timeout=120_000)
    assert (app["settings"].library_dir / "quokka_report.pdf").exists()
    assert not (REPO / "corpus" / "quokka_report.pdf").exists()  # the bundled corpus stays as shipped

    _ask(page, "How many midwives did the Quokka Health Trust train?")
    expect(page.locator("#chatbot")).to_contain_text("312 midwives", timeout=30_000)
    _ask(page, "What is the payload for testing?")
    expect(page.locator("#sources")).to_contain_text("onerror", timeout=30_000)  # shown as text
    _ask(page, PAYLOAD)
    page.wait_for_timeout(1000)
    for sel in ("#chatbot", "#sources"):
        assert page.locator(f"{sel} img[onerror]").count() == 0
        assert page.locator(f"{sel} script").count() == 0
    assert page.evaluate("window.__xss") is None, "a script from a document or question ran"
    page.close()


def test_api_answers_with_structured_sources(app):
    from gradio_client import Client

    client = Client(app["url"], verbose=False)
    result = client.predict("How many members does Health Systems Global have?", "", "",
                            api_name="/answer")
    assert not result["abstained"] and "2000 members" in result["answer"]
    cited = result["citations"][0]
    assert cited["number"] == 1 and cited["doc_id"] == "partners-hpsr-report-2021"
    assert any("2000 members" in q for c in result["citations"] for q in c["quoted"])

    box, history, sources = client.predict(
        "How many members does Health Systems Global have?", [], "", api_name="/ask")
    # Gradio 6: message content comes back as a list of {"type": "text", "text": ...}
    assert box == "" and "[1\\]" in history[-1]["content"][0]["text"]
    assert "Partners’ HPSR report – 2021" in sources
    follow = client.predict("and when was it founded?", "",
                            "How many members does Health Systems Global have?", api_name="/answer")
    assert "2012" in follow["answer"]
    assert follow["searched_as"] == "When was Health Systems Global founded?"
    table = client.predict("How many nurses were there in Cabo Verde in 2022?", "", "", api_name="/answer")["table"]
    assert table["caption"].startswith("Table 1 Progress in human resources for health")
    assert table["header"] == ["", "2022 · Number"] and table["rows"] == [["Nurses", "935"]] and table["pages"] == [25]
    refused = client.predict("What is the life expectancy at birth in Japan?", "", "", api_name="/answer")
    assert refused["abstained"] and refused["reason"].startswith("No document mentions Japan")
    # Clients get document ids and viewer URLs, never where files or the index lie on the server.
    for answered in (result, refused):
        text = json.dumps(answered)
        assert str(REPO) not in text and "file://" not in text and "/tmp" not in text, text[:300]
        assert all(p["viewer_url"].startswith("/hpsr/viewer?doc=") for p in answered["passages"])


def test_safe_filename_stays_in_folder():
    from chatbot.app import safe_filename

    assert safe_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert safe_filename("..\\..\\evil name!.PDF") == "evil_name.pdf"
    assert safe_filename(".hidden.md") == "hidden.md"
    assert safe_filename("/abs/path/report 2021.txt") == "report_2021.txt"
