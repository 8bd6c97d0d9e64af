"""Tables of a PDF as tables (pdfplumber): caption, one name per column, rows with their page.

Only pages whose text has a caption ("Table 1 ...", "Table 3. Contd") are read, and the pages
after a table that runs to the foot of its page; pdfplumber is about ten times slower than
pypdf, so reading every page would double a build. Rows are the bands between the table's
horizontal rules; columns come from its vertical rules, or, where it has none, from where the
header's words start. A table continued on the next page is joined to its first part, each row
keeping its page.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest.lexicon import is_year
from ingest.normalize import dehyphenate, hyphenated_words
from ingest.types import Table

CAPTION = re.compile(r"^\s*(Table\s+(\d+[A-Za-z]?))[.:]?\s*(.*)$", re.M)
_CONTINUED = re.compile(r"^\s*(contd|cont'd|continued)\b", re.I)
_CUT = re.compile(r"\s+(Source|Sources|Note|Notes)\s?:.*$")
_NUMBER = re.compile(r"^[\s€$£%<>≥≤~±.,/–-]*\d[\d\s.,%/–-]*[\w%]{0,3}\s*(\([^)]*\))?$")
MIN_RULE = 0.3  # a horizontal rule at least this share of the page wide bounds table rows
FOOTER = 0.03  # the bottom strip of a page, where footer lines sit
HEADER = 0.12  # the top strip: a rule there above a caption is a running-header line
FOOT = 0.25  # a table whose last rule is in this bottom share of the page may go on overleaf


@dataclass
class PageTables:
    """What the table pass found in one PDF (tables in reading order) and what went wrong."""

    tables: list[Table] = field(default_factory=list)
    prose: dict[int, str] = field(default_factory=dict)  # page -> its text outside the tables
    failed_pages: list[int] = field(default_factory=list)
    timed_out_at: int | None = None  # the page the time limit stopped the pass at


@dataclass
class _Open:
    """A table that may go on: where it is in `found.tables`, and its column edges."""

    position: int
    columns: list[float]
    span: tuple[float, float]  # the x extent of its rules


def caption_pages(page_texts: list[str]) -> dict[int, list[tuple[str, str, bool]]]:
    """1-based page -> [(label "Table 3", caption text, is a continuation)] from pypdf's text."""
    out: dict[int, list[tuple[str, str, bool]]] = {}
    for n, text in enumerate(page_texts, start=1):
        for m in CAPTION.finditer(text):
            rest = m.group(3).strip()
            if re.match(r"^(summarizes|shows|presents|lists|gives|sets out)\b", rest):
                continue  # "Table 4 summarizes the main gaps": prose that names a table
            # A caption wrapped onto the next line goes on in lower case ("... impoverishing" /
            # "spending on health").
            tail = text[m.end():].lstrip("\n").split("\n", 1)[0].strip()
            if tail[:1].islower() and len(rest) + len(tail) < 200:
                rest = f"{rest} {tail}"
            out.setdefault(n, []).append((m.group(1), _CUT.sub("", rest), bool(_CONTINUED.match(rest))))
    return out


def extract_tables(path: Path, page_texts: list[str], skip: set[int], deadline: float) -> PageTables:
    """Tables from the captioned pages of a PDF (and their continuations). Never raises: a page
    that fails is listed, and the pass stops at `deadline` (time.monotonic())."""
    found = PageTables()
    captions = caption_pages(page_texts)
    if not captions:
        return found
    import pdfplumber

    try:
        pdf = pdfplumber.open(str(path))
    except Exception:  # a PDF pypdf reads but pdfminer does not: text only
        found.failed_pages = sorted(captions)
        return found
    keep = frozenset(hyphenated_words(page_texts))  # "co-payment" keeps its hyphen across a line end
    labelled: dict[str, _Open] = {}  # "Table 2" -> its first part, for "Table 2. Contd"
    heads: set[float] = set()  # y of running-header rules (seen above captions)
    with pdf:
        todo = sorted(captions)
        at_foot: _Open | None = None  # the last table, if it ran to the foot of its page
        while todo:
            n = todo.pop(0)
            if n in skip or n > len(pdf.pages):
                continue
            if time.monotonic() > deadline:
                found.timed_out_at = n
                break
            page = pdf.pages[n - 1]
            try:
                at_foot = _read_page(page, n, captions.get(n, []), at_foot, labelled, found, keep, heads)
            except Exception:  # one odd page must not lose the document's other tables
                found.failed_pages.append(n)
                at_foot = None
            finally:
                page.close()  # pdfplumber caches each page's objects
            if at_foot is not None and n + 1 not in todo and n + 1 <= len(pdf.pages):
                todo.insert(0, n + 1)  # look overleaf for the rest of it
    return found


def _read_page(page, n: int, captions: list[tuple[str, str, bool]], at_foot: _Open | None,
               labelled: dict[str, _Open], found: PageTables, keep: frozenset[str], heads: set[float]) -> _Open | None:
    """Add the page's tables (or continued parts) to `found`; the table left open at its foot."""
    rules = _rules(page)
    words = page.extract_words()
    marks = sorted((m["top"], m["bottom"]) for m in page.search(r"Table\s+\d+[A-Za-z]?", regex=True)
                   if not any(abs(w["top"] - m["top"]) < 2 and w["x1"] <= m["x0"] for w in words))  # line starts
    if marks:  # a rule in the top strip above the first caption runs across every page's head
        heads.update(r for r in rules if r < min(marks[0][0], HEADER * page.height))
    rules = [r for r in rules if not any(abs(r - h) < 1.5 for h in heads)]
    if len(rules) < 2:
        return None
    zones: list[tuple[float, float, tuple[str, str, bool] | None]] = []
    if at_foot is not None and (not marks or rules[0] < marks[0][0]):
        zones.append((0.0, marks[0][0] if marks else page.height, None))  # the rest of a table overleaf
    for i, (_, bottom) in enumerate(marks[:len(captions)]):
        end = marks[i + 1][0] if i + 1 < len(marks) else page.height
        zones.append((bottom, end, captions[i]))
    boxes = []
    left_open = None
    for start, end, caption in zones:
        lines = [r for r in rules if start - 1 <= r <= end]
        if len(lines) < 2:
            continue
        earlier = at_foot if caption is None else labelled.get(caption[0]) if caption[2] else None
        if (caption is None or caption[2]) and earlier is None:
            continue  # "Contd" of a table never found
        grid = _grid(page, lines, earlier, keep)
        if grid is None:
            continue
        rows, box, columns, span = grid
        if earlier is not None:  # the caption and header of its first part; its rows join
            first = found.tables[earlier.position]
            if len(rows[0]) != len(first.header):
                continue
            _, body = _structure(rows, first.header)
            found.tables[earlier.position] = Table(first.caption, first.header, first.rows + tuple(body),
                                                   first.pages + (n,) * len(body))
            position = earlier.position
        else:
            header, body = _structure(rows, None)
            if not body:
                continue
            found.tables.append(Table(f"{caption[0]} {caption[1]}".strip(), header, tuple(body), (n,) * len(body)))
            position = len(found.tables) - 1
            labelled[caption[0]] = _Open(position, columns, span)
        boxes.append(box)
        left_open = _Open(position, columns, span) if lines[-1] >= (1 - FOOT) * page.height else None
    if boxes:  # the page's other text, so a table's text is not indexed twice
        outside = page
        for box in boxes:
            outside = outside.outside_bbox(box)
        found.prose[n] = outside.extract_text() or ""
    return left_open


def _rules(page) -> list[float]:
    """y of the horizontal rules that span at least MIN_RULE of the page (a rule drawn cell by
    cell is many short segments on one line: their span counts)."""
    spans: dict[float, list[float]] = {}
    for e in page.edges:
        if e["orientation"] == "h":
            y = round(e["top"], 0)
            lo, hi = spans.get(y, [e["x0"], e["x1"]])
            spans[y] = [min(lo, e["x0"]), max(hi, e["x1"])]
    # Rules in the bottom strip are footer lines, not a table's (running-header lines at the top
    # are known from the pages with captions: `_read_page`).
    return sorted(y for y, (lo, hi) in spans.items()
                  if hi - lo >= MIN_RULE * page.width and y < (1 - FOOTER) * page.height)


def _grid(page, lines: list[float], earlier: _Open | None, keep: frozenset[str]):
    """(rows of cell texts, box, column edges, x span) between the rules, or None.

    Columns: those of the part it continues (same span), else the vertical rules, else where
    the first row's phrases start. A label cell merged down over several rows (no rule across
    the label column between them) gives its whole text to each of those rows.
    """
    edges = [e for e in page.edges if e["orientation"] == "h" and lines[0] - 1 <= e["top"] <= lines[-1] + 1]
    x0, x1 = min(e["x0"] for e in edges), max(e["x1"] for e in edges)
    box = (max(0, x0 - 1), lines[0] - 1, min(page.width, x1 + 1), lines[-1] + 1)
    region = page.crop(box)
    # A part overleaf keeps the columns of the part before, moved with the page's margins
    # (left and right pages mirror them): same width, shifted.
    same_width = earlier is not None and abs((earlier.span[1] - earlier.span[0]) - (x1 - x0)) < 10
    ruled = [] if same_width else _vertical_rules(region, lines, x0, x1)
    columns = ([c + x0 - earlier.span[0] for c in earlier.columns] if same_width else
               ruled or _header_columns(region, lines, x0, x1))
    if len(columns) < 3:  # fewer than two columns: not a table
        return None
    found = region.find_tables({"vertical_strategy": "explicit", "explicit_vertical_lines": columns,
                                "horizontal_strategy": "explicit", "explicit_horizontal_lines": lines})
    if not found:
        return None
    table = found[0]
    rows = [[" ".join(dehyphenate(c or "", keep).split()) for c in row] for row in table.extract()]
    tops = [r.bbox[1] for r in table.rows]
    if ruled:
        _merge_spanned(region, table, rows, columns, keep)
    label_lo, label_hi = columns[0], columns[1]

    def ruled(y: float) -> bool:  # a rule across the label column at this height
        return any(abs(e["top"] - y) <= 1.5 and min(e["x1"], label_hi) - max(e["x0"], label_lo)
                   >= 0.5 * (label_hi - label_lo) for e in edges)

    groups: list[list[int]] = []
    for i, top in enumerate(tops):
        if i == 0 or ruled(top) or not groups:
            groups.append([i])
        else:
            groups[-1].append(i)
    for g in groups:
        label = " ".join(rows[i][0] for i in g if rows[i][0])
        for i in g:
            if any(rows[i][1:]):
                rows[i][0] = label
    rows = [r for r in rows if any(r)]
    return (rows, box, columns, (x0, x1)) if len(rows) >= 1 else None


def _merge_spanned(region, table, rows: list[list[str]], columns: list[float], keep: frozenset[str]) -> None:
    """A cell merged across columns ("2021" centred over "Number" and "Density") is cut by the
    column edge it straddles: where a word crosses an edge, the cells on both sides are read
    as one, into the first of them."""
    words = region.extract_words()
    for r, row in enumerate(table.rows):
        top, bottom = row.bbox[1], row.bbox[3]
        inside = [w for w in words if top - 1 <= w["top"] and w["bottom"] <= bottom + 1]
        cut = [any(w["x0"] < x - 1 and w["x1"] > x + 1 for w in inside) for x in columns[1:-1]]
        j = 0
        while j < len(cut):
            if not cut[j]:
                j += 1
                continue
            k = j
            while k < len(cut) and cut[k]:
                k += 1
            # columns j .. k are one cell
            text = region.crop((columns[j], top, columns[k + 1], bottom)).extract_text() or ""
            rows[r][j] = " ".join(dehyphenate(text, keep).split())
            for m in range(j + 1, k + 1):
                rows[r][m] = ""
            j = k + 1


def _vertical_rules(region, lines: list[float], x0: float, x1: float) -> list[float]:
    """Column edges from the table's vertical rules, if it has them: x positions of vertical
    segments in the header rows (the first two), or through a quarter of the table. The outer
    edges are the region's (a table often draws no border at its sides)."""
    tall: dict[float, float] = {}
    header: set[float] = set()
    head_bottom = lines[min(2, len(lines) - 1)]
    for e in region.edges:
        if e["orientation"] == "v" and e["height"] >= 8 and x0 + 3 < e["x0"] < x1 - 3:
            x = round(e["x0"])
            tall[x] = tall.get(x, 0.0) + e["height"]
            if e["top"] < head_bottom - 2:
                header.add(x)
    height = region.bbox[3] - region.bbox[1]
    xs = sorted(header | {x for x, h in tall.items() if h >= 0.25 * height})
    merged: list[float] = []
    for x in xs:  # a rule drawn twice, or as the two sides of a thin rectangle
        if not merged or x - merged[-1] > 4:
            merged.append(x)
    return [x0 - 0.5] + merged + [x1 + 0.5] if merged else []


def _header_columns(region, lines: list[float], x0: float, x1: float) -> list[float]:
    """Column edges where the first row's phrases start (a table ruled only across)."""
    words = [w for w in region.extract_words(x_tolerance=1.5) if lines[0] <= w["top"] < lines[1]]
    words.sort(key=lambda w: w["x0"])
    phrases: list[list[float]] = []  # [x0, x1] of words run together (gaps under ~1.5 spaces)
    for w in words:
        if phrases and w["x0"] <= phrases[-1][1] + 6:
            phrases[-1][1] = max(phrases[-1][1], w["x1"])
        else:
            phrases.append([w["x0"], w["x1"]])
    if len(phrases) < 2:
        return []
    return [x0 - 0.5] + [p[0] - 2 for p in phrases[1:]] + [x1 + 0.5]


def is_number(cell: str) -> bool:
    """A figure ("754", "15.3", "€7", "23.23%"); a year alone is a column name, not a figure."""
    return bool(cell) and _NUMBER.match(cell) is not None and not is_year(cell)


def _is_section(row: list[str]) -> bool:
    """A row with one cell of words across a table of several columns: a heading for the rows
    below it ("Inputs", "Catastrophic health spending")."""
    filled = [c for c in row if c]
    return len(row) > 1 and len(filled) == 1 and not is_number(filled[0])


def _structure(rows: list[list[str]], header: tuple[str, ...] | None) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """(header, body rows). Without a known header: the rows before the first row of figures
    (at most three), or, in a table of words, a first row of short names; levels flattened into
    one name per column (a cell merged across columns names each of them; "2022 · Number").
    Section rows become part of the labels below them; a repeated header is dropped."""
    body_start = 0
    if header is None:
        numeric = [sum(is_number(c) for c in r[1:]) >= max(1, (len(r) - 1) // 2) for r in rows]
        first_data = next((i for i, num in enumerate(numeric) if num), None)
        if first_data:
            body_start = min(first_data, 3)
        elif (not _is_section(rows[0]) and len(rows) > 1
              and all(len(c.split()) <= 15 and not c.endswith(".") for c in rows[0])):
            body_start = 1
        levels = [list(r) for r in rows[:body_start]]
        for level in levels[:-1]:  # upper levels: a merged cell spans the empty cells to its right
            for i in range(1, len(level)):
                if not level[i] and level[i - 1] and levels[-1][i]:
                    level[i] = level[i - 1]
        header = tuple(" · ".join(dict.fromkeys(p for p in (lv[i] for lv in levels) if p))  # a row-spanning name once
                       for i in range(len(rows[0])))
    body: list[tuple[str, ...]] = []
    section = ""
    for row in rows[body_start:]:
        if _is_section(row):
            section = next(c for c in row if c)
            continue
        if " ".join(row).split() == " ".join(header).split() or _repeats(row, header):
            continue
        label = f"{section} — {row[0]}" if section and row[0] else row[0] or section
        body.append((label,) + tuple(row[1:]))
    return header, body


def _repeats(row: list[str], header: tuple[str, ...]) -> bool:
    """A header printed again on a continued page (most of its cells are the header's)."""
    same = sum(1 for c, h in zip(row, header) if c and h and c.split() == h.split())
    return same >= max(2, (len(header) + 1) // 2)
