"""An answer from a table: the rows that answer, under the caption and header, with only the
columns the question names (a year, "density", "number") when it names some. Every cell shown
is a cell of the extracted table."""
from __future__ import annotations

import re
from functools import lru_cache

from chatbot.question import GLUE, Question
from ingest.lexicon import YEAR, data_rows, stem, stems, words
from ingest.types import Table

# Words a question uses for a column it does not name as the table does (ingest/data).
_COLUMN_WORDS = {stem(name): {stem(w) for w in asked.split(";")} for name, asked in data_rows("column_words.tsv")}
_ASKING = {stem(w) for w in ("how", "what", "when")}  # ask for a column only with another word
_HOW_MANY = {stem("how"), stem("many")}
_GLUE = frozenset(stem(w) for w in GLUE)


@lru_cache(maxsize=4096)
def _asked(q: Question) -> frozenset[str]:
    """The stems of every word of the question, glue words and question words included."""
    return frozenset(stem(w) for w in q.words)


def _name(text: str) -> set[str]:
    """The words of a column's name that can name it: "on" in "Cap on user charges" does not
    (though a column named "Other" keeps its one word)."""
    found = words(text)
    return {stem(w) for w in [w for w in found if w not in GLUE] or found}


@lru_cache(maxsize=4096)
def columns_asked(q: Question, header: tuple[str, ...]) -> tuple[int, ...]:
    """Indexes of the columns (after the row label) the question asks for; all if it names none.

    A year in the question keeps the columns headed with that year; words of a column's name
    ("number", "rate"), or words used for it ("how many", "density"), keep that column.
    """
    columns = list(range(1, len(header)))
    if q.years:
        dated = [j for j in columns if set(q.years) & set(YEAR.findall(header[j]))]
        columns = dated or columns
    asked = _asked(q)
    named = []
    for j in columns:
        name = _name(YEAR.sub(" ", header[j]))
        if not name:
            continue
        also = set().union(*(_COLUMN_WORDS.get(w, set()) for w in name))
        if name & asked or also & asked - _ASKING or (_HOW_MANY <= asked and stem("number") in name):
            named.append(j)
    if named and len(named) < len(columns):
        columns = named
    return tuple(columns)


def names_row(table: Table, row: int, q: Question) -> bool:
    """Does the question name this row: a word of its label, or its initials ("GPs" for
    "General practitioners")?"""
    asked = _asked(q) - _GLUE
    label = [w for w in words(table.rows[row][0]) if len(w) > 2]
    return bool(asked & stems(table.rows[row][0])) or (
        len(label) > 1 and "".join(w[0] for w in label) in {w.rstrip("s") for w in asked})


def asks_table(table: Table, row: int, q: Question) -> bool:
    """Does the question ask for a value of this table: does it name the row (its label, or two
    of its words elsewhere in the row: "the year e-prescribing became mandatory"), or name one
    of its columns and speak of what the caption says the table is about?"""
    if names_row(table, row, q) or len(q.stems & stems(" ".join(table.rows[row]))) >= 2:
        return True
    caption = stems(re.sub(r"^Table\s+\S+", "", table.caption)) - _GLUE
    narrowed = len(columns_asked(q, table.header)) < len(table.header) - 1
    return narrowed and bool(caption & _asked(q))


def scored_text(table: Table, row: int, q: Question) -> str:
    """A row as it would be shown, to score it: the caption, then the row with the columns asked for."""
    return f"{table.caption}: {shown(table, [row], q).row_text(0)}"


def shown(table: Table, rows: list[int], q: Question) -> Table:
    """The rows answering, with the row label and the columns asked for."""
    return table.part(rows, (0,) + columns_asked(q, table.header))


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
