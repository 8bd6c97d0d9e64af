"""The web chat (Gradio). Only this module imports gradio."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home, before gradio loads

import gradio as gr  # noqa: E402

from chatbot.answer import MAX_QUESTION_CHARS, answer  # noqa: E402
from chatbot.render import answer_json, answer_markdown, escape, sources_markdown  # noqa: E402
from chatbot.viewer import pdfjs_dir  # noqa: E402
from chatbot.viewer_routes import add_routes  # noqa: E402
from index import Settings, build_index, open_index, remove_document  # noqa: E402
from index.settings import REPO_ROOT  # noqa: E402
from index.embedder import embedder_for  # noqa: E402
from ingest import SUPPORTED, HpsrError  # noqa: E402
from ingest.formats import MAX_FILE_MB, described  # noqa: E402

MAX_UPLOAD_MB = MAX_FILE_MB  # the limit for a document, read or uploaded
ALL_DOCS = "All documents"


def safe_filename(name: str) -> str:
    """A file name that stays inside the library folder: no directories, no dot-files."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:100] or "upload"
    return stem + re.sub(r"[^A-Za-z0-9.]", "", suffix.lower())


class ChatApp:
    """State shared by all sessions: where the index and the library live."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.load()

    def private(self, text: str) -> str:
        """A message for a client, without where the index, the library or the checkout lie."""
        for folder, name in ((self.settings.index_dir, "the index"), (self.settings.library_dir, "the library"),
                             (REPO_ROOT, "the checkout")):
            text = text.replace(str(folder), name)
        return text

    def index(self):
        return open_index(self.settings.index_dir, self.settings)  # follows rebuilds (atomic swap)

    def doc_choices(self) -> list[tuple[str, str]]:
        docs = self.index().documents
        return [(ALL_DOCS, "")] + sorted(((t, d) for d, t in docs.items()), key=lambda x: x[0].lower())

    def ask(self, question: str, history: list | None, doc: str | None, previous: str | None):
        """Chat event: returns (cleared box, history, sources markdown, last question)."""
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            return "", history, "Type a question first.", previous
        try:
            ans = answer(self.index(), question, previous=previous, doc=doc or None)
        except HpsrError as e:
            history += [{"role": "user", "content": escape(question[:MAX_QUESTION_CHARS])},
                        {"role": "assistant", "content": escape(f"Error: {self.private(str(e))}")}]
            return "", history, "", previous
        history += [{"role": "user", "content": escape(ans.question)},
                    {"role": "assistant", "content": answer_markdown(ans)}]
        # The question as searched: a follow-up's subject is named there, so the next
        # follow-up keeps it ("and how many members does it have?" -> "... does <its subject> have?").
        return "", history, sources_markdown(ans), ans.search_query or ans.question

    def answer_api(self, question: str, doc: str = "", previous: str = "") -> dict:
        """Structured answer for programs: text, abstained, confidence, cited passages, notes."""
        try:
            ans = answer(self.index(), question or "", previous=previous or None, doc=doc or None)
        except HpsrError as e:  # empty question, unknown document: a message, not a stack trace
            raise gr.Error(self.private(str(e))) from e
        return answer_json(ans)

    def ask_removal(self, doc_id: str | None):
        """First step of a removal: say what will go, and show the confirmation."""
        if not doc_id:
            return gr.update(visible=False), "", "Choose a document first."
        title = self.index().documents.get(doc_id)
        if title is None:
            return gr.update(visible=False), "", escape(f"{doc_id} is not in the index.")
        return (gr.update(visible=True), f"Remove **{escape(title)}** (`{escape(doc_id)}`) from the index? "
                f"Its file stays where it is.", "")

    def remove_document(self, doc_id: str | None):
        """Second step: re-index without the document (atomically, as an upload re-indexes)."""
        if not doc_id:
            return "Choose a document first.", gr.update(), gr.update(), gr.update(visible=False)
        try:
            report = remove_document(doc_id, index_dir=self.settings.index_dir, settings=self.settings)
        except HpsrError as e:
            return escape(self.private(str(e))), gr.update(), gr.update(), gr.update(visible=False)
        choices = self.doc_choices()
        message = escape(f"Removed {doc_id}.\n{report.summary(paths=False)}").replace("\n", "  \n")
        return message, gr.update(choices=choices, value=""), gr.update(choices=choices[1:], value=None), \
            gr.update(visible=False)

    def add_documents(self, files: list | None, progress=gr.Progress()):
        """Store uploads in the user's library folder (never the bundled corpus/) under safe
        names, then re-index incrementally: the library is indexed with the other sources."""
        if not files:
            return f"Choose files first: {described()}.", gr.update(), gr.update()
        library = self.settings.library_dir
        library.mkdir(parents=True, exist_ok=True)
        messages, saved = [], 0
        for f in files:
            src = Path(f if isinstance(f, str) else getattr(f, "name", f))
            name = safe_filename(src.name)
            if Path(name).suffix not in SUPPORTED:
                messages.append(f"{escape(src.name)}: not added (only {escape(described())} files)")
                continue
            size = src.stat().st_size
            if size > MAX_UPLOAD_MB * 1024 * 1024:
                messages.append(f"{escape(src.name)}: not added (larger than {MAX_UPLOAD_MB} MB)")
                continue
            dest = library / name
            n = 1
            while dest.exists():
                n += 1
                dest = library / f"{Path(name).stem}-{n}{Path(name).suffix}"
            if dest.resolve().parent != library.resolve():  # belt and braces against traversal
                messages.append(f"{escape(src.name)}: not added (unsafe file name)")
                continue
            shutil.copyfile(src, dest)
            saved += 1
        if saved:
            def report_progress(stage: str, done: int, total: int) -> None:
                label = "Reading files" if stage == "files" else "Embedding passages"
                progress(done / max(1, total), desc=f"{label} ({done}/{total})")

            report = build_index(None, index_dir=self.settings.index_dir,
                                 settings=self.settings, progress=report_progress)
            messages.append(escape(report.summary(paths=False)).replace("\n", "  \n"))
        choices = self.doc_choices()
        return "  \n".join(messages), gr.update(choices=choices), gr.update(choices=choices[1:])


# Tables in the chat and the sources panel: as wide as their columns need, scrolling sideways
# when wider than the panel, each column wide enough to read (a label is never cut letter by
# letter). The sources panel grows with the page rather than scrolling inside a box.
CSS = """
#chatbot table, #sources table { display: block; max-width: 100%; overflow-x: auto; }
#chatbot th, #chatbot td, #sources th, #sources td {
  min-width: 6em; word-break: normal !important; overflow-wrap: normal !important; hyphens: none; }
#chatbot td:first-child, #sources td:first-child { min-width: 10em; }
"""
# A new answer scrolls into view where it begins, wherever the reader had scrolled the chat.
SHOW_NEWEST = """() => { setTimeout(() => {
  const all = document.querySelectorAll('#chatbot .message');
  if (!all.length) return;
  const last = all[all.length - 1];
  let box = last.parentElement;  // the chat's own scrolling box, not the page
  while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top;
}, 50); }"""


def build_app(settings: Settings | None = None) -> gr.Blocks:
    app = ChatApp(settings)
    with gr.Blocks(title="hpsr-chat") as demo:
        gr.Markdown("## hpsr-chat\nAsk about the indexed health policy and systems research "
                    "documents. Answers quote the documents and cite them; if the documents "
                    "do not answer, it says so.")
        previous = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                # latex_delimiters=[]: "$5 ... $10" in a document is money, not math.
                chatbot = gr.Chatbot(elem_id="chatbot", height=480, buttons=["copy", "copy_all"],
                                     label="Chat", latex_delimiters=[])
                question = gr.Textbox(elem_id="question", label="Question", max_length=MAX_QUESTION_CHARS,
                                      info=f"At most {MAX_QUESTION_CHARS} characters; longer text is cut.",
                                      placeholder="Ask a question about the documents")
                with gr.Row():
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear_btn = gr.Button("New conversation", elem_id="clear")
            with gr.Column(scale=2):
                doc = gr.Dropdown(choices=app.doc_choices(), value="", label="Search in",
                                  elem_id="doc")
                sources = gr.Markdown("Sources of the answer appear here.", elem_id="sources",
                                      latex_delimiters=[])
                with gr.Accordion("Add documents", open=False):
                    files = gr.File(file_count="multiple", file_types=list(SUPPORTED),
                                    elem_id="upload", label=described())
                    add_btn = gr.Button("Add to index", elem_id="add")
                    status = gr.Markdown(elem_id="upload-status")
                with gr.Accordion("Remove a document", open=False):
                    to_remove = gr.Dropdown(choices=app.doc_choices()[1:], value=None, label="Document",
                                            elem_id="remove-doc")
                    remove_btn = gr.Button("Remove…", elem_id="remove")
                    # Two steps: the first click asks, only "Yes, remove it" removes.
                    with gr.Row(visible=False) as confirm_row:
                        confirm_text = gr.Markdown(elem_id="remove-confirm-text")
                        confirm_btn = gr.Button("Yes, remove it", variant="stop", elem_id="remove-confirm")
                        cancel_btn = gr.Button("Cancel", elem_id="remove-cancel")
                    remove_status = gr.Markdown(elem_id="remove-status")
        ins, outs = [question, chatbot, doc, previous], [question, chatbot, sources, previous]
        question.submit(app.ask, ins, outs, api_name="ask", concurrency_limit=8).then(
            None, None, None, js=SHOW_NEWEST, api_visibility="private")
        ask_btn.click(app.ask, ins, outs, api_visibility="private", concurrency_limit=8).then(
            None, None, None, js=SHOW_NEWEST, api_visibility="private")
        clear_btn.click(lambda: ("", [], "Sources of the answer appear here.", None), None, outs,
                        api_visibility="private")
        add_btn.click(app.add_documents, [files], [status, doc, to_remove], api_name="add_documents",
                      concurrency_limit=1)
        remove_btn.click(app.ask_removal, [to_remove], [confirm_row, confirm_text, remove_status],
                         api_visibility="private")
        cancel_btn.click(lambda: (gr.update(visible=False), "Nothing was removed."), None,
                         [confirm_row, remove_status], api_visibility="private")
        confirm_btn.click(app.remove_document, [to_remove], [remove_status, doc, to_remove, confirm_row],
                          api_name="remove_document", concurrency_limit=1)
        demo.load(lambda: (gr.update(choices=app.doc_choices()), gr.update(choices=app.doc_choices()[1:])),
                  None, [doc, to_remove], api_visibility="private")
        gr.api(app.answer_api, api_name="answer", concurrency_limit=8)  # as many as the chat
    return demo


def ensure_index(settings: Settings) -> None:
    """Build the index on first run (with a progress bar); reuse it afterwards."""
    from index.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError

    try:
        open_index(settings.index_dir, settings)
    except (IndexNotFoundError, IndexCorruptError, IndexMismatchError) as e:
        print(f"Building the index ({e.__class__.__name__.replace('Error', '')}): "
              f"this takes about a minute on a laptop.", flush=True)
        print(build_index(index_dir=settings.index_dir, settings=settings).summary(), flush=True)
    # Load the model (and make its one-time ONNX export) before serving, not in the first request.
    embedder_for(settings).encode_query("warm up")


def start(demo: gr.Blocks, settings: Settings, host: str = "127.0.0.1", port: int | None = None,
          auth: tuple[str, str] | None = None, quiet: bool = True) -> str:
    """Serve the chat without blocking, with the source viewer's routes; returns its URL."""
    demo.launch(server_name=host, server_port=port, auth=auth, show_error=True, quiet=quiet,
                prevent_thread_lock=True, max_file_size=f"{MAX_UPLOAD_MB}mb", css=CSS,
                footer_links=["api"])
    add_routes(demo.app, lambda: open_index(settings.index_dir, settings), login=auth is not None,
               pdfjs=settings.pdfjs_dir)
    return demo.local_url


def launch(host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
           settings: Settings | None = None) -> None:
    settings = settings or Settings.load()
    ensure_index(settings)
    demo = build_app(settings)
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise SystemExit("hpsr: error: --auth needs the form user:password")
        credentials = (user, password)
    if pdfjs_dir(settings.pdfjs_dir) is None:
        print("hpsr-chat: pdf.js is not installed (`make setup` installs it with npm): citations open "
              "PDFs in the browser's own viewer, at the page but without the highlight", flush=True)
    start(demo, settings, host, port, credentials)
    print(f"hpsr-chat: open http://{host}:{port} in your browser (Ctrl+C to stop)", flush=True)
    demo.block_thread()
