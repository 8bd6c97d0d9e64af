"""The source viewer's routes on the chat's FastAPI app (see chatbot/viewer.py for what they are).

No `from __future__ import annotations` here: FastAPI reads these functions' annotations.
"""
from pathlib import Path

from fastapi import Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from chatbot.viewer import STATIC, pdfjs_dir
from index import Index
from ingest.formats import format_of


def add_routes(app, open_index, login: bool = False, pdfjs: Path | None = None) -> None:
    """Add the viewer's routes to the chat's FastAPI app; `open_index()` gives the live index.

    login: the chat was started with a login (--auth). Then every route needs the chat's own
    session cookie, and fails closed: where the session cannot be checked (a Gradio that keeps
    its sessions elsewhere), every request is refused, never served.
    pdfjs: Settings.pdfjs_dir (HPSR_PDFJS), where pdf.js is if not in .venv.
    """
    pdfjs = pdfjs_dir(pdfjs)
    def logged_in(request: Request) -> None:
        """The chat's own login (Gradio's session cookie), when it has one."""
        if not login:
            return
        gradio = request.app
        cookie_id, tokens = getattr(gradio, "cookie_id", None), getattr(gradio, "tokens", None)
        if not cookie_id or not isinstance(tokens, dict):
            raise HTTPException(status_code=401, detail="Not authenticated (the login cannot be checked)")
        token = (request.cookies.get(f"access-token-{cookie_id}")
                 or request.cookies.get(f"access-token-unsecure-{cookie_id}"))
        if not token or not tokens.get(token):
            raise HTTPException(status_code=401, detail="Not authenticated")

    def indexed(doc_id: str) -> tuple[Index, str, Path]:
        idx: Index = open_index()
        if doc_id not in idx.documents:
            raise HTTPException(status_code=404, detail=f"no indexed document {doc_id!r}")
        source = idx.source_path(doc_id)
        if not source.is_file():
            raise HTTPException(status_code=410, detail=f"{doc_id}: its file is no longer where it was indexed")
        return idx, idx.documents[doc_id], source

    guard = [Depends(logged_in)]

    @app.get("/hpsr/viewer", dependencies=guard, response_class=HTMLResponse)
    def viewer() -> HTMLResponse:
        return HTMLResponse((STATIC / "viewer.html").read_text(encoding="utf-8"),
                            headers={"Cache-Control": "no-store"})

    @app.get("/hpsr/meta/{doc_id}", dependencies=guard)
    def meta(doc_id: str, page: int | None = None) -> JSONResponse:
        idx, title, source = indexed(doc_id)
        fmt = format_of(source)
        kind = "pdf" if fmt is not None and fmt.view == "pdf" else "text"
        return JSONResponse({"doc": doc_id, "title": title, "kind": kind, "pdfjs": pdfjs is not None,
                             "label": idx.page_label(doc_id, page) if page else None})

    @app.get("/hpsr/doc/{doc_id}", dependencies=guard)
    def document(doc_id: str) -> Response:
        idx, _, source = indexed(doc_id)
        fmt = format_of(source)
        headers = {"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"}
        if fmt is not None and fmt.view == "text":  # a Word file or web page: its text, never its markup
            return Response(idx.document_text(doc_id), media_type=fmt.media_type, headers=headers)
        media = fmt.media_type if fmt is not None else "application/octet-stream"
        return FileResponse(source, media_type=media, headers=headers)

    app.mount("/hpsr/static", _Guarded(StaticFiles(directory=STATIC), logged_in), name="hpsr-static")
    if pdfjs is not None:
        app.mount("/hpsr/pdfjs", _Guarded(StaticFiles(directory=pdfjs), logged_in), name="hpsr-pdfjs")


class _Guarded:
    """A mounted ASGI app behind the chat's login (mounts take no FastAPI dependencies)."""

    def __init__(self, inner, check) -> None:
        self.inner, self.check = inner, check

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            try:
                self.check(Request(scope))
            except HTTPException as e:
                await JSONResponse({"detail": e.detail}, status_code=e.status_code)(scope, receive, send)
                return
        await self.inner(scope, receive, send)
