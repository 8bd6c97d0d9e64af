"""Hostile text in questions and in document passages: no script runs in the real browser, the
app does not crash, and long input is cut with a message that says so."""
from __future__ import annotations

import pytest

import index
from conftest import write_pdf, write_small_corpus
from hostile import PAYLOADS, record, serve
from test_app import browser  # noqa: F401 - the real-Chromium fixture

ALL_HTML = " ".join(PAYLOADS[:14])


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The small corpus plus documents whose passages, headings and title are payloads."""
    root = tmp_path_factory.mktemp("hostile-text")
    docs = write_small_corpus(root / "docs")
    sections = [f"## Quagga payload {i} {p}\n\nThe Quagga payload passage {i} reads: {p} and ends with marmalade."
                for i, p in enumerate(q.replace("\x00", "") for q in PAYLOADS)]  # NUL: a binary file
    (docs / "payloads.md").write_text("# Quagga payloads\n\n" + "\n\n".join(sections) + "\n")
    write_pdf(docs / "evil-title.pdf", [["The Quagga title test page says the clinic opened in 1987."]],
              title='<img src=x onerror="window.__pwned=99">Quagga title')
    report = index.build_index([docs], index_dir=root / "index", progress=False)
    assert report.files == 5 and not report.skipped, report.summary()
    settings = index.Settings.load(index_dir=root / "index", library_dir=root / "uploads")
    demo, url = serve(settings)
    yield {"url": url}
    demo.close()


def _ask(page, text: str, expect_text: str, where: str = "#chatbot") -> None:
    from playwright.sync_api import expect

    box = page.locator("#question textarea")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("", timeout=60_000)  # the answer has come back
    expect(page.locator(where)).to_contain_text(expect_text, timeout=30_000)


@pytest.mark.browser
def test_payloads_never_run_in_the_browser(app, browser):  # noqa: F811
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app["url"], wait_until="load")
    page.locator("#question textarea").wait_for(timeout=30_000)
    # Document passages with every payload, shown in the sources panel.
    _ask(page, "Which Quagga payload passage ends with marmalade?", "marmalade", where="#sources")
    _ask(page, "When did the clinic of the Quagga title test page open?", "1987")
    # Questions that are payloads; the chat echoes each question.
    _ask(page, ALL_HTML[:990], "onerror")
    _ask(page, PAYLOADS[14] + " " + PAYLOADS[15], "right-to-left override")
    # A 100 kB paste: the box keeps at most 1000 characters and says so.
    box = page.locator("#question textarea")
    box.fill("Quagga " * 15_000)
    assert len(box.input_value()) <= 1000, len(box.input_value())
    assert page.get_by_text("At most 1000 characters").count() >= 1
    page.locator("#doc").click()  # the document list shows the payload title as text
    page.wait_for_timeout(500)
    page.keyboard.press("Escape")
    for sel in ("img[onerror]", "script:not([src])", "iframe", "svg[onload]", "details[ontoggle]",
                "a[href^='javascript:']", "a[href^='data:']"):
        found = page.locator(f"#chatbot {sel}, #sources {sel}, #doc {sel}").count()
        assert found == 0, f"{sel} rendered from hostile text"
    assert page.evaluate("window.__pwned") is None, "a payload ran in the page"
    assert dialogs == [], f"alert() ran: {dialogs}"
    assert "\u202e" not in page.locator("#chatbot").inner_text()
    page.close()


def test_payloads_through_the_api(app):
    from gradio_client import Client

    client = Client(app["url"], verbose=False)
    tried = 0
    for payload in PAYLOADS:
        result = client.predict(payload, "", "", api_name="/answer")
        assert isinstance(result["answer"], str)
        _, history, sources = client.predict(payload, [], "", api_name="/ask")
        text = history[-1]["content"][0]["text"] + sources
        assert "<img" not in text and "<script" not in text and "](javascript" not in text, text[:300]
        # A payload as the previous turn and as the document filter: a message, not a crash.
        client.predict("and when?", "", payload, api_name="/answer")
        with pytest.raises(Exception, match="unknown document"):
            client.predict("Quagga", payload, "", api_name="/answer")
        tried += 4
    long_q = "How many nurses does each lemur clinic employ? " + "x" * 100_000
    result = client.predict(long_q, "", "", api_name="/answer")
    assert result["notes"] == ["Your question was cut to its first 1000 characters."], result["notes"]
    _, history, _ = client.predict(long_q, [], "", api_name="/ask")
    assert "cut to its first 1000 characters" in history[-1]["content"][0]["text"]
    with pytest.raises(Exception, match="query is empty"):
        client.predict("\x00\x01\u202e\u200b", "", "", api_name="/answer")
    tried += 3
    record("hostile_text", payloads=len(PAYLOADS), api_requests=tried, browser_questions=4,
           document_passages=len(PAYLOADS) + 1, command="pytest tests/test_hostile_text.py")
