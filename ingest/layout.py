"""Reading order of text boxes on a page (OCR lines, or a PDF's words): column by column, so a
sentence is never spliced with the column beside it.

A column gutter is a vertical strip, in the middle of the text, that no box of ordinary width
crosses, with text on both sides over much of the page height. Boxes that cross it (a title, a
full-width paragraph, a figure caption) cut the page into bands, read top to bottom; within a
band the left column is read before the right one. Each column may be cut again (three columns).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

CELLS = 1000  # strips of x in which a gutter is looked for


@dataclass(frozen=True)
class Box:
    x0: float
    top: float
    x1: float
    bottom: float
    text: str

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def reading_order(boxes: list[Box]) -> str:
    """The boxes' text, a line per line of text, a blank line between paragraphs and columns."""
    boxes = [b for b in boxes if b.text.strip()]
    if not boxes:
        return ""
    return "\n\n".join(p for p in _read(boxes, depth=0) if p)


def columns(boxes: list[Box]) -> tuple[float, float] | None:
    """The gutter (x from, x to) of boxes set in columns, or None for one column. A few boxes may
    cross it (a running head, a title, a full-width paragraph): they are read as bands."""
    left, right = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    width = right - left
    top, bottom = min(b.top for b in boxes), max(b.bottom for b in boxes)
    if width <= 0 or len(boxes) < 6:
        return None
    # How many boxes cover each of CELLS strips of x, over the middle half of the text's width
    # (strips, not units: a page's coordinates are the file's say, and may be huge).
    cells = CELLS
    unit = width / (cells - 1)
    cover = [0] * (cells + 1)
    for b in boxes:
        cover[int((b.x0 - left) / unit)] += 1
        cover[int((b.x1 - left) / unit)] -= 1
    allowed = max(2, len(boxes) // 20)
    counts, count = [], 0
    for x in range(cells):
        count += cover[x]
        counts.append(count)
    middle = range(int(0.25 * cells), int(0.75 * cells) + 1)
    least = min(counts[x] for x in middle)
    if least > allowed:
        return None
    best, run_start = None, None
    for x in range(cells):
        inside = x in middle and counts[x] == least
        if inside and run_start is None:
            run_start = x
        if (not inside or x == cells - 1) and run_start is not None:
            if best is None or x - run_start > best[1] - best[0]:
                best = (run_start, x)
            run_start = None
    line = statistics.median(b.height for b in boxes)
    if best is None or (best[1] - best[0]) * unit < 0.5 * line:
        return None
    gutter = (left + best[0] * unit, left + best[1] * unit)
    crossing = [b for b in boxes if b.x0 < gutter[0] and b.x1 > gutter[1]]
    if len(crossing) > allowed:
        return None
    sides = [[b for b in boxes if b.x1 <= gutter[0]], [b for b in boxes if b.x0 >= gutter[1]]]
    for side in sides:  # text on both sides, over much of the page height
        if len(side) < 3 or max(b.bottom for b in side) - min(b.top for b in side) < 0.3 * (bottom - top):
            return None
    return gutter


def _read(boxes: list[Box], depth: int) -> list[str]:
    gutter = columns(boxes) if depth < 3 else None
    if gutter is None:
        return [_lines(boxes)]

    def crosses(b: Box) -> bool:
        return b.x0 < gutter[0] and b.x1 > gutter[1]

    # A box across the gutter takes the other boxes of its line with it: one line, read whole.
    lines: list[list[Box]] = []
    for s in sorted((b for b in boxes if crosses(b)), key=lambda b: b.top):
        if lines and s.top <= lines[-1][0].middle <= s.bottom:
            lines[-1].append(s)
            continue
        lines.append([s])
    taken = {id(b) for line in lines for b in line}
    for line in lines:
        top, bottom = min(b.top for b in line), max(b.bottom for b in line)
        mates = [b for b in boxes if id(b) not in taken and top <= b.middle <= bottom]
        taken |= {id(b) for b in mates}
        line += mates
    rest = [b for b in boxes if id(b) not in taken]
    edges = [float("-inf")] + [statistics.fmean(b.middle for b in line) for line in lines] + [float("inf")]
    out: list[str] = []
    for i in range(len(edges) - 1):
        band = [b for b in rest if edges[i] <= b.middle < edges[i + 1]]
        left = [b for b in band if (b.x0 + b.x1) / 2 < gutter[0]]
        right = [b for b in band if (b.x0 + b.x1) / 2 >= gutter[0]]
        for side in (left, right):
            if side:
                out += _read(side, depth + 1)
        if i < len(lines):
            out.append(" ".join(b.text.strip() for b in sorted(lines[i], key=lambda b: b.x0)))
    return out


def segments(boxes: list[Box]) -> list[Box]:
    """Words joined into runs of a line (a PDF's words, from pdfplumber): words closer than a
    line's height are one run, so a title across the page crosses the gutter as one box, and
    a gutter stays a gap between runs."""
    out: list[Box] = []
    for line in _group_lines(boxes):
        run = None
        for b in sorted(line, key=lambda b: b.x0):
            if run is not None and b.x0 - run.x1 <= max(run.height, b.height):
                run = Box(run.x0, min(run.top, b.top), max(run.x1, b.x1), max(run.bottom, b.bottom),
                          f"{run.text} {b.text}")
            else:
                if run is not None:
                    out.append(run)
                run = b
        out.append(run)
    return out


def _group_lines(boxes: list[Box]) -> list[list[Box]]:
    lines: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: (b.top, b.x0)):
        if lines and lines[-1][0].top <= b.middle <= lines[-1][0].bottom:
            lines[-1].append(b)
        else:
            lines.append([b])
    return lines


def _lines(boxes: list[Box]) -> str:
    """Boxes of one column as lines (boxes whose middles fall within a line join it, left to
    right), a blank line where the gap between lines is wider than a line."""
    lines = _group_lines(boxes)
    height = statistics.median(b.height for b in boxes)
    text, previous = [], None
    for line in lines:
        words = " ".join(b.text.strip() for b in sorted(line, key=lambda b: b.x0))
        first = line[0]
        if previous is not None and first.top - previous.bottom > 0.9 * height:
            text.append("")
        text.append(words)
        previous = max(line, key=lambda b: b.bottom)
    return "\n".join(text)
