"""An answer from a table: the rows that answer, under the caption and header, with only the
columns the question names (a year, "density", "number") when it names some. Every cell shown
is a cell of the extracted table."""
from __future__ import annotations

import re

from chatbot.terms import FUNCTION_WORDS
from ingest.types import Table

# Words a question uses for a column it does not name as the table does.
_COLUMN_WORDS = {
    "number": {"number", "many", "count", "total", "how"},
    "rate": {"rate", "density", "per", "ratio", "10"},
    "status": {"status", "progress", "progressed"},
    "change": {"change", "changed", "introduce", "introduced", "what"},
    "month": {"month", "when"},
    "year": {"year", "when"},
}
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def _stem(word: str) -> str:
    return word.rstrip("s") if len(word) > 3 else word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())}


def _name(text: str) -> set[str]:
    """The words of a column's name that can name it: "on" in "Cap on user charges" does not
    (though a column named "Other" keeps its one word)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_stem(w) for w in [w for w in words if w not in FUNCTION_WORDS] or words}


def columns_asked(question: str, header: tuple[str, ...]) -> list[int]:
    """Indexes of the columns (after the row label) the question asks for; all if it names none.

    A year in the question keeps the columns headed with that year; words of a column's name
    ("number", "rate"), or words used for it ("how many", "density"), keep that column.
    """
    columns = list(range(1, len(header)))
    years = set(_YEAR.findall(question))
    if years:
        dated = [j for j in columns if years & set(_YEAR.findall(header[j]))]
        columns = dated or columns
    asked = _words(question)
    named = []
    for j in columns:
        name = _name(_YEAR.sub(" ", header[j]))
        if not name:
            continue
        also = set().union(*(_COLUMN_WORDS.get(w, set()) for w in name))
        if name & asked or also & asked - {"how", "what", "when"} or ({"how", "many"} <= asked and "number" in name):
            named.append(j)
    if named and len(named) < len(columns):
        columns = named
    return columns


def names_row(table: Table, row: int, question: str) -> bool:
    """Does the question name this row: a word of its label, or its initials ("GPs" for
    "General practitioners")?"""
    asked = _words(question)
    label = [w for w in re.findall(r"[a-z0-9]+", table.rows[row][0].lower()) if len(w) > 2]
    return bool(asked & _words(table.rows[row][0])) or (
        len(label) > 1 and "".join(w[0] for w in label) in {w.rstrip("s") for w in asked})


def scored_text(table: Table, row: int, question: str) -> str:
    """A row as it would be shown, to score it: the caption, then the row with the columns asked for."""
    return f"{table.caption}: {shown(table, [row], question).row_text(0)}"


def shown(table: Table, rows: list[int], question: str) -> Table:
    """The rows answering, with the row label and the columns asked for."""
    keep = [0] + columns_asked(question, table.header)
    return Table(table.caption, tuple(table.header[j] for j in keep),
                 tuple(tuple(table.rows[r][j] for j in keep) for r in rows),
                 tuple(table.pages[r] for r in rows))


def lines(table: Table) -> list[str]:
    """The answer's text for a shown table: the caption leads the first row."""
    out = [table.row_text(i) for i in range(len(table.rows))]
    if out:
        out[0] = f"{table.caption}: {out[0]}"
    return out


def is_from(part: Table, whole: Table) -> bool:
    """Every cell of `part` is the cell of `whole` in the same row and column (the verbatim rule)."""
    if part.caption != whole.caption:
        return False
    cols, at = [], 0  # the part's columns are some of the whole's, in order (names may repeat)
    for h in part.header:
        while at < len(whole.header) and whole.header[at] != h:
            at += 1
        if at == len(whole.header):
            return False
        cols.append(at)
        at += 1
    return all(any(all(row[i] == full[c] for i, c in enumerate(cols)) for full in whole.rows)
               for row in part.rows)
