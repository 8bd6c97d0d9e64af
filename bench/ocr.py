"""OCR speed and accuracy on this machine: pages read per second by OCR (ingest.ocr: draw at
200 dpi, RapidOCR, reading order), beside reading the same pages' text layer with pypdf (the
baseline, same run), and the characters right on the tests' clean scanned page.

Usage: .venv/bin/python bench/ocr.py [--pages 6] [--threads N]
The pages are those of the bundled two-column assessment (section IV onwards), drawn as if
scanned; their text layer is the reference for the accuracy of each page.
"""
from __future__ import annotations

import argparse
import difflib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from latency import cpu_flags  # noqa: E402

PDF = ROOT / "corpus" / "phc-palliative-assessment-kosovo-2025.pdf"


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=6)
    args = ap.parse_args()
    import pypdf
    import pypdfium2 as pdfium

    from documents import SCAN_TEXT, write_scan
    from ingest import load_document
    from ingest.ocr import DPI, engine, read_image

    print(f"CPU: {cpu_flags()}")
    t = time.perf_counter()
    engine()
    print(f"OCR engine loaded in {time.perf_counter() - t:.2f} s\n")
    numbers = list(range(20, 20 + args.pages))
    reader = pypdf.PdfReader(str(PDF))
    t = time.perf_counter()
    layer = {n: reader.pages[n - 1].extract_text() for n in numbers}
    text_s = time.perf_counter() - t
    pdf = pdfium.PdfDocument(str(PDF))
    times, ratios = [], []
    for n in numbers:
        t = time.perf_counter()
        text = read_image(pdf[n - 1].render(scale=DPI / 72).to_numpy())
        times.append(time.perf_counter() - t)
        ratios.append(difflib.SequenceMatcher(None, _squeeze(layer[n]), _squeeze(text), autojunk=False).ratio())
    print("| what | pages | seconds a page (median) | pages/s |\n|---|---|---|---|")
    print(f"| text layer, pypdf (baseline) | {len(numbers)} | {text_s / len(numbers):.3f} | {len(numbers) / text_s:.1f} |")
    print(f"| OCR at {DPI} dpi | {len(numbers)} | {statistics.median(times):.2f} | {len(times) / sum(times):.2f} |")
    print(f"\ncharacters matching the text layer, bundled pages {numbers[0]}-{numbers[-1]} (median): "
          f"{statistics.median(ratios):.3f} (the layer's own order and spacing differ a little)")
    with tempfile.TemporaryDirectory() as folder:
        doc = load_document(write_scan(Path(folder) / "scan.pdf"))
    ratio = difflib.SequenceMatcher(None, _squeeze(" ".join(SCAN_TEXT)), _squeeze(doc.blocks[0].text),
                                    autojunk=False).ratio()
    print(f"characters right on the tests' clean 200-dpi page: {ratio:.3f}")


if __name__ == "__main__":
    main()
