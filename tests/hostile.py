"""Hostile inputs for the reliability tests: hand-written PDFs, odd text files, payloads.

The PDFs are written byte by byte (fpdf2 refuses to make broken ones) with a correct xref
table, so pypdf reads exactly the structure described here.
"""
from __future__ import annotations

import io
import json
import os
import zlib
from pathlib import Path

from conftest import REPO, write_pdf
from documents import write_docx
from ingest.formats import MAX_FILE_MB, MAX_HTML_MB

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
GOOD_LINE = b"The Quagga Clinic Trust counted 4417 patients in its first year of work."


def pdf_bytes(objects: list[bytes]) -> bytes:
    """A PDF whose objects 1..n are `objects` (object 1 is the catalog)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(data: bytes, compress: bool = False, extra: bytes = b"") -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def text_ops(line: bytes) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (" + line + b") Tj ET"


def _page(contents: bytes, resources: bytes = b"") -> bytes:
    return (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> "
            + resources + b">> /Contents " + contents + b" >>")


def one_page(content: bytes, resources: bytes = b"", extra: tuple[bytes, ...] = ()) -> bytes:
    """catalog 1, pages 2, page 3, font 4, content 5, then `extra` objects 6.."""
    return pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                      _page(b"5 0 R", resources), FONT, content, *extra])


def many_pages(n: int) -> bytes:
    """n pages: the first has a sentence, the others are one shared empty page (a small file)."""
    kids = b"3 0 R " + b"6 0 R " * (n - 1)
    return pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>",
                      b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
                      _page(b"5 0 R"), FONT, stream(text_ops(GOOD_LINE)),
                      b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def slow_pages(n: int) -> bytes:
    """n pages that each take pypdf a few milliseconds: a file that a time limit must stop."""
    content = stream(b"BT /F1 12 Tf 72 720 Td " + b"(slow page words here ) Tj 0 -1 Td " * 400 + b"ET",
                     compress=True)
    kids = b"3 0 R " * n
    return pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>",
                      b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
                      _page(b"5 0 R"), FONT, content])


def enormous_page() -> bytes:
    """Page 1: 20 MB of drawing instructions (compressed to ~100 kB); page 2: one sentence."""
    huge = stream(b"BT /F1 12 Tf 72 720 Td " + b"(lorem ipsum dolor sit amet ) Tj 0 -1 Td " * 500_000 + b"ET",
                  compress=True)
    return pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>",
                      _page(b"5 0 R"), FONT, huge, _page(b"7 0 R"), stream(text_ops(GOOD_LINE))])


def hostile_files(folder: Path) -> dict[str, str | None]:
    """Write every hostile file into `folder`; name -> expected reason word (None: indexed)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = [["The Quagga Clinic Trust counted 4417 patients in its first year of work."]]
    expect: dict[str, str | None] = {}

    def put(name: str, data: bytes, reason: str | None) -> None:
        (folder / name).write_bytes(data)
        expect[name] = reason

    put("corrupt.pdf", b"%PDF-1.7\n" + os.urandom(4096), "corrupt")
    whole = write_pdf(folder / "whole.tmp", good * 3).read_bytes()
    (folder / "whole.tmp").unlink()
    put("truncated.pdf", whole[: len(whole) // 2], "corrupt")
    write_pdf(folder / "encrypted-user-password.pdf", good, user_password="s3cret")
    expect["encrypted-user-password.pdf"] = "password"
    write_pdf(folder / "encrypted-owner-only.pdf", good, user_password="")
    expect["encrypted-owner-only.pdf"] = None  # empty user password: opens and is indexed
    put("zero-byte.pdf", b"", "empty")
    put("zero-byte.md", b"", "empty")
    write_pdf(folder / "scanned.pdf", [[]], draw_only=True)
    expect["scanned.pdf"] = "no extractable text"
    put("binary-named.pdf", b"\x7fELF\x02\x01\x01" + os.urandom(20000), "corrupt")
    put("binary-named.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000), "binary")
    put("thousands-of-pages.pdf", many_pages(5000), None)  # first 2000 pages read, with a warning
    put("enormous-page.pdf", enormous_page(), None)  # page 1 skipped with a warning, page 2 read
    put("nested-content.pdf", one_page(stream(
        b"BT /F1 12 Tf 72 720 Td (" + GOOD_LINE + b") Tj " + b"[" * 50_000 + b"]" * 50_000 + b" TJ ET")),
        "damaged")
    put("nested-resources.pdf", one_page(stream(text_ops(GOOD_LINE)),
                                         resources=b"/X " + b"[" * 100_000 + b"]" * 100_000 + b" "), "no extractable text")
    put("cyclic-page-tree.pdf", pdf_bytes([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        _page(b"5 0 R"), FONT, stream(text_ops(GOOD_LINE))]), "cyclic")
    put("cyclic-parent.pdf", pdf_bytes([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 6 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R >>", FONT,
        stream(text_ops(GOOD_LINE)), b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>"]), "damaged")
    put("cyclic-reference.pdf", pdf_bytes([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources 6 0 R /Contents 5 0 R >>",
        FONT, stream(text_ops(GOOD_LINE)), b"7 0 R", b"6 0 R"]), "damaged")
    put("self-drawing-form.pdf", one_page(
        stream(text_ops(GOOD_LINE) + b" /X1 Do"), resources=b"/XObject << /X1 6 0 R >> ",
        extra=(stream(b"BT /F1 12 Tf (inner) Tj ET /X1 Do", extra=b" /Type /XObject /Subtype /Form "
                      b"/BBox [0 0 100 100] /Resources << /Font << /F1 4 0 R >> /XObject << /X1 6 0 R >> >>"),)),
        None)
    put("zip-bomb.pdf", one_page(stream(b"BT /F1 12 Tf 72 720 Td (" + GOOD_LINE + b") Tj ET "
                                        + b" " * 100_000_000, compress=True)), "damaged")
    put("cp1252.txt", "Caf\u00e9 menu: \u201cfresh\u201d soup for the Quagga clinic staff on Fridays."
        .encode("cp1252"), None)
    put("mixed-encoding.md", "# Mixed\n\nThe caf\u00e9 in Gen\u00e8ve (UTF-8) serves the Quagga clinic.\n\n".encode()
        + "A na\u00efve \u201cquote\u201d in cp1252 about the clinic garden.\n".encode("cp1252"), None)
    put("utf16.txt", "UTF-16 notes: the Quagga clinic opened a pharmacy in Z\u00fcrich.\n"
        .encode("utf-16"), None)
    with open(folder / "huge.txt", "wb") as f:  # larger than a document may be (sparse: no disk used)
        f.write(b"The Quagga clinic's notes. ")
        f.truncate(MAX_FILE_MB * 1024 * 1024 + 1)
    expect["huge.txt"] = "larger than"
    _hostile_documents(folder, expect)
    os.symlink("loop-b.pdf", folder / "loop-a.pdf")
    os.symlink("loop-a.pdf", folder / "loop-b.pdf")
    expect["loop-a.pdf"] = expect["loop-b.pdf"] = "symlink loop"
    os.symlink("nowhere.pdf", folder / "dangling.pdf")
    expect["dangling.pdf"] = "broken symlink"
    os.symlink("..", folder / "parent-link")  # a folder symlink: never followed, so no loop
    return expect


def _hostile_documents(folder: Path, expect: dict[str, str | None]) -> None:
    """Damaged Word files and web pages: broken zips, XML bombs, a zip bomb, a page too big to
    read, a page of boilerplate only; and a page whose DTD declares entities, read without them."""
    import zipfile

    good = write_docx(folder / "good.tmp", fact=GOOD_LINE.decode(), notes=False)
    data = good.read_bytes()
    good.unlink()

    def with_document(name: str, xml: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as z:
            for item in zin.infolist():
                z.writestr(item, xml if item.filename == "word/document.xml" else zin.read(item.filename))

    document = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04" + os.urandom(5000))
    expect["broken.docx"] = "damaged word document"
    (folder / "truncated.docx").write_bytes(data[: len(data) // 2])
    expect["truncated.docx"] = "damaged word document"
    entities = b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(8)) + b"]>"
    with_document("entity-bomb.docx", document.replace(b"?>", b"?>" + entities, 1).replace(b"<w:t>", b"<w:t>&i;", 1))
    expect["entity-bomb.docx"] = "declares a dtd"
    head, tail = document.split(b"<w:body>")
    with_document("deep-nesting.docx", head + b"<w:body>" + b"<w:sdt><w:sdtContent>" * 100_000
                  + b"</w:sdtContent></w:sdt>" * 100_000 + tail)
    expect["deep-nesting.docx"] = "damaged word document"
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(folder / "zip-bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:
        for item in zin.infolist():
            z.writestr(item, zin.read(item.filename))
        with z.open("word/media/padding.bin", "w") as f:  # 250 MB of zeros in a few hundred KB
            for _ in range(250):
                f.write(bytes(1 << 20))
    expect["zip-bomb.docx"] = "unpacks to"
    with open(folder / "huge.html", "wb") as f:  # sparse: no disk used
        f.write(b"<html><body><p>The Quagga clinic's notes.</p>")
        f.truncate(MAX_HTML_MB * 1024 * 1024 + 1)
    expect["huge.html"] = "larger than"
    (folder / "boilerplate.html").write_text(
        "<html><head><script>var s = 'The Quagga clinic';</script></head><body><nav><a href='/'>Home</a>"
        "</nav><footer>Privacy</footer></body></html>", encoding="utf-8")
    expect["boilerplate.html"] = "no main text"
    (folder / "deep-nesting.html").write_text("<html><body>" + "<div>" * 100_000 + "<p>" + GOOD_LINE.decode()
                                              + "</p>" + "</div>" * 100_000 + "</body></html>", encoding="utf-8")
    expect["deep-nesting.html"] = "no main text"
    (folder / "entities.html").write_text(
        '<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><html><body>'
        f"<article><p>{GOOD_LINE.decode()} &b;&b;</p></article></body></html>", encoding="utf-8")
    expect["entities.html"] = None


FIGURES = REPO / "tests" / "artifacts" / "reliability.json"


def record(section: str, **values) -> None:
    """Merge measured figures into tests/artifacts/reliability.json (the README quotes them)."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    data[section] = values
    FIGURES.write_text(json.dumps(data, indent=1, sort_keys=True))
    print(f"\n[reliability] {section}: {json.dumps(values)}")


# --- payloads for questions and document passages --------------------------------------------

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    '<svg onload="window.__pwned=3"></svg>',
    '<iframe src="javascript:window.parent.__pwned=4"></iframe>',
    "[click me](javascript:window.__pwned=5)",
    "![x](javascript:window.__pwned=6)",
    "<javascript:window.__pwned=7>",
    '[a](data:text/html,<script>window.__pwned=8</script>)',
    '<a href="javascript:alert(9)">link</a>',
    "&lt;img src=x onerror=alert(10)&gt;",
    "`<img src=x onerror=alert(11)>`",
    '"><img src=x onerror=alert(12)>',
    "<details open ontoggle=alert(13)>",
    "$$\\href{javascript:alert(14)}{x}$$",
    "\u202eevil\u202c text with a right-to-left override \u2066isolate\u2069",
    "control \x00\x01\x07\x1b[31m characters \x7f\u200b here",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(settings):
    """Launch the chat for `settings` on loopback in this process; returns (demo, url)."""
    from chatbot.app import build_app, start

    demo = build_app(settings)
    port = free_port()
    start(demo, settings, port=port)
    return demo, f"http://127.0.0.1:{port}/"
