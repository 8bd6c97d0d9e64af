"""The source viewer: open a cited document at its page, the quoted sentence highlighted.

This module makes the links; chatbot/viewer_routes.py serves them. Routes added to the chat's
web app (after Gradio's, with the same login when --auth is set):

    /hpsr/viewer?doc=ID&page=N&q=QUOTE[&q=...]   the viewer page (pdf.js for PDFs, else text)
    /hpsr/doc/ID                                 the indexed document's file, by its id only (a
                                                 Word file or web page: its text as indexed)
    /hpsr/meta/ID                                its title and kind
    /hpsr/pdfjs/...                              pdf.js itself (npm pdfjs-dist, installed by `make setup`)
    /hpsr/static/...                             the viewer's own script and style

Only documents of the index are served: the client names an id, and the path is the one the
index recorded for it. pdf.js, its fonts and character maps are served from this machine.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from index import Hit
from index.settings import REPO_ROOT

STATIC = Path(__file__).resolve().parent / "static"


def pdfjs_dir(configured: Path | None = None) -> Path | None:
    """Where pdf.js is (`configured`: Settings.pdfjs_dir, HPSR_PDFJS; else
    .venv/pdfjs/node_modules/pdfjs-dist), if installed."""
    folder = configured or REPO_ROOT / ".venv" / "pdfjs" / "node_modules" / "pdfjs-dist"
    return folder if (folder / "build" / "pdf.min.mjs").is_file() else None


def viewer_url(hit: Hit, quotes: list[str]) -> str:
    """The viewer at a passage's physical page, the quoted sentences highlighted."""
    params = [("doc", hit.doc_id)] + ([("page", str(hit.page))] if hit.page else [])
    params += [("q", q) for q in quotes if q.strip()]
    # Brackets and parentheses encoded too, so the link survives inside Markdown.
    return "/hpsr/viewer?" + urlencode(params, quote_via=lambda s, *a: quote(s, safe=""))


def file_url(hit: Hit) -> str:
    """The document on this machine, at the page: file:///path/report.pdf#page=29."""
    url = Path(hit.source).resolve().as_uri()
    return f"{url}#page={hit.page}" if hit.page else url
