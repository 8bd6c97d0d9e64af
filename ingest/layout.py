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
    # How many boxes cover each unit of x, over the middle half of the text's width.
    cells = int(width) + 1
    cover = [0] * (cells + 1)
    for b in boxes:
        cover[int(b.x0 - left)] += 1
        cover[int(b.x1 - left)] -= 1
    allowed = max(2, len(boxes) // 20)
    counts, count = [], 0
    for x in range(cells):
        count += cover[x]
        counts.append(count)
    middle = range(int(0.25 * width), int(0.75 * width) + 1)
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
    if best is None or best[1] - best[0] < 0.5 * line:
        return None
    gutter = (left + best[0], left + best[1])
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
    out: list[str] = []
    spanning = sorted((b for b in boxes if b.x0 < gutter[0] and b.x1 > gutter[1]), key=lambda b: b.top)
    edges = [float("-inf")] + [b.middle for b in spanning] + [float("inf")]
    for i in range(len(edges) - 1):
        band = [b for b in boxes if edges[i] < b.middle < edges[i + 1] and not (b.x0 < gutter[0] and b.x1 > gutter[1])]
        left = [b for b in band if b.x1 <= gutter[0] or (b.x0 + b.x1) / 2 < gutter[0]]
        right = [b for b in band if b not in left]
        for side in (left, right):
            if side:
                out += _read(side, depth + 1)
        if i < len(spanning):
            out.append(spanning[i].text.strip())
    return out


def _lines(boxes: list[Box]) -> str:
    """Boxes of one column as lines (boxes whose middles fall within a line join it, left to
    right), a blank line where the gap between lines is wider than a line."""
    lines: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: (b.top, b.x0)):
        if lines and lines[-1][0].top <= b.middle <= lines[-1][0].bottom:
            lines[-1].append(b)
        else:
            lines.append([b])
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
