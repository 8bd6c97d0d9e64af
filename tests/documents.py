"""Writers of the document types other than PDF text and plain text, for the tests: a Word file,
a saved web page, a scanned page, and two-column pages (made with python-docx, fpdf2 and
pypdfium2; nothing read from the network or the system's fonts)."""
from __future__ import annotations

import zipfile
from pathlib import Path

WORD_FACT = "The Okavango Nursing Council registered 2718 community midwives in 2021."
WEB_FACT = "The Tamarind Valley health board opened 37 mobile clinics in 2022."
SCAN_FACT = "The Marula District hospital treated 6120 malaria patients in 2020."
FOOTNOTE = "Footnote text about the Zanzibar archive that must not be indexed."
COMMENT = "Reviewer comment about the Kilimanjaro budget that must not be indexed."


def write_docx(path: Path, fact: str = WORD_FACT, notes: bool = True) -> Path:
    """A Word report: a title, headings, a paragraph holding `fact`, a bulleted list, a captioned
    table; with `notes`, a footnote and a comment in their own parts, referenced from the text."""
    import docx

    d = docx.Document()
    d.core_properties.title = "Midwifery workforce brief"
    d.add_heading("Midwifery workforce brief", 0)
    d.add_heading("Background", 1)
    d.add_paragraph("This brief summarises the workforce census of the council.")
    d.add_paragraph(fact)
    d.add_paragraph("Rural posts were advertised twice a year.", style="List Bullet")
    d.add_paragraph("Retention bonuses were paid after three years.", style="List Bullet")
    d.add_heading("Regional figures", 1)
    d.add_paragraph("Table 2 Midwives by region")
    table = d.add_table(rows=3, cols=3)
    for i, row in enumerate([("Region", "2020", "2021"), ("Delta", "1210", "1388"), ("Highlands", "1190", "1330")]):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    d.add_paragraph("Vacancies remain highest in the highlands.")
    d.save(str(path))
    if notes:
        _add_notes(path)
    return path


def _add_notes(path: Path) -> None:
    """A footnote and a comment as Word stores them: in word/footnotes.xml and word/comments.xml,
    referenced from a run of the document's text."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    parts = {
        "word/footnotes.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:footnotes {w}><w:footnote w:id="1">'
                              f'<w:p><w:r><w:t>{FOOTNOTE}</w:t></w:r></w:p></w:footnote></w:footnotes>',
        "word/comments.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:comments {w}><w:comment w:id="0" '
                             f'w:author="R"><w:p><w:r><w:t>{COMMENT}</w:t></w:r></w:p></w:comment></w:comments>',
    }
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    body = files["word/document.xml"].decode("utf-8")
    body = body.replace("</w:t></w:r></w:p>", '</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r>'
                        '<w:commentRangeStart w:id="0"/><w:r><w:commentReference w:id="0"/></w:r></w:p>', 1)
    files["word/document.xml"] = body.encode("utf-8")
    files.update({k: v.encode("utf-8") for k, v in parts.items()})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)


WEB_PAGE = """<!DOCTYPE html><html><head><title>Mobile clinics in Tamarind Valley | Health Board</title>
<script>var tracker = "SCRIPT-TEXT-NEVER-INDEXED";</script><style>.banner { color: red }</style></head>
<body><nav><a href="/">Home</a> <a href="/about">About the board</a> <a href="/menu">NAVIGATION-MENU-ITEM</a></nav>
<div id="cookie-banner">We use cookies. COOKIE-BANNER-TEXT. Accept all cookies.</div>
<main><article><h1>Mobile clinics in Tamarind Valley</h1>
<p>{fact} The clinics visit villages more than 20 kilometres from a
<a href="https://example.org/centres">health centre</a>, according to the board's annual report.</p>
<h2>Staffing</h2>
<p>Each clinic is staffed by a nurse and a community health worker, and the board plans to
double the fleet by 2025. A reader wrote &lt;img src=x onerror=alert(1)&gt; in a comment box.</p>
<table><caption>Table 1 Mobile clinic visits</caption><tr><th>District</th><th>2021</th><th>2022</th></tr>
<tr><td>North</td><td>410</td><td>655</td></tr><tr><td>South</td><td>380</td><td>702</td></tr></table>
</article></main>
<footer>FOOTER-TEXT Copyright 2024 Health Board. Privacy policy.</footer></body></html>"""


def write_html(path: Path, fact: str = WEB_FACT) -> Path:
    path.write_text(WEB_PAGE.replace("{fact}", fact), encoding="utf-8")
    return path


SCAN_TEXT = [
    "District health report",
    "",
    f"{SCAN_FACT} Most patients were children under five",
    "and pregnant women from villages along the river. The hospital had",
    "48 beds and 11 doctors, and referred severe cases to the regional",
    "hospital two hours away by road.",
]


def write_scan(path: Path, lines: list[str] = SCAN_TEXT, dpi: int = 200, pages: int = 1) -> Path:
    """A scanned document: a text page drawn at `dpi` and put in a PDF as an image only (no text
    layer), `pages` times."""
    import pypdfium2 as pdfium
    from fpdf import FPDF

    text_pdf = path.with_suffix(".text.tmp")
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        if line:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(6)
    pdf.output(str(text_pdf))
    image = pdfium.PdfDocument(str(text_pdf))[0].render(scale=dpi / 72).to_pil().convert("L")
    text_pdf.unlink()
    png = path.with_suffix(".png.tmp")
    image.save(png, format="PNG")
    scan = FPDF(format="A4")
    for _ in range(pages):
        scan.add_page()
        scan.image(str(png), x=0, y=0, w=210, h=297)
    scan.output(str(path))
    png.unlink()
    return path


TITLE = "Annual review of district nursing services, set in two columns across the whole page"
LEFT = ["The first column says that nurses in the", "northern districts earn less than those",
        "in the capital, and that many of them leave", "for jobs abroad within five years."]
RIGHT = ["The second column reports that the new", "rural allowance raised retention by a",
         "third in the pilot regions, according to", "the ministry's annual workforce review."]


def write_two_columns(path: Path, interleaved: bool) -> Path:
    """A page in two columns. `interleaved`: drawn line by line across the page (left line 1,
    right line 1, ...), as some PDF writers do; else column after column."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.text(20, 20, TITLE)  # across both columns
    left, right = LEFT * 3, RIGHT * 3
    if interleaved:
        for i, (a, b) in enumerate(zip(left, right)):
            pdf.text(20, 40 + 6 * i, a)
            pdf.text(110, 40 + 6 * i, b)
    else:
        for i, a in enumerate(left):
            pdf.text(20, 40 + 6 * i, a)
        for i, b in enumerate(right):
            pdf.text(110, 40 + 6 * i, b)
    pdf.output(str(path))
    return path


def write_text_then_image(path: Path, image: Path, width_mm: float = 210, height_mm: float = 297) -> Path:
    """A PDF of a text page, then a page that only draws `image` (a scan, or a thin strip)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 7, "A text page about the Quagga clinic and the many patients it treated in the hills.")
    pdf.add_page()
    pdf.image(str(image), x=0, y=0, w=width_mm, h=height_mm)
    pdf.output(str(path))
    return path
