"""Generate near-miss questions from the answerable dev questions: swap a question's place, year,
body, or the thing it asks about for one that the documents don't cover, checked against the
index. Each near miss keeps its answerable original as its twin ("twin": the original's id).

    .venv/bin/python eval/near_misses.py [--index DIR] [--out eval/generated/near_misses.jsonl]

A swap is kept only if the index shows the documents can't answer it:
- place or body: the new one is in no chunk that also holds the question's rarest word, and in
  no chunk of the document that answered the original;
- year: the new year is in no chunk of that document that holds the question's rarest word;
- term (a profession, disease, group, service or indicator, eval/data/health_terms.tsv): the
  new term is in no chunk of that document, and in no chunk with the question's place.
Places come from ingest/data/countries.tsv; the choice among candidates is seeded by the
question's id, so the same index gives the same file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from chatbot.answerable import Judge  # noqa: E402
from chatbot.question import Question, Term, analyse  # noqa: E402
from index import Index, Settings  # noqa: E402
from index.evaluate import load_questions  # noqa: E402
from ingest.lexicon import places  # noqa: E402

SOURCES = ("report", "pdfs", "tables")
DATA = REPO / "eval" / "data"


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:8], 16))


def _terms_by_kind() -> dict[str, list[str]]:
    rows = [ln.split("\t") for ln in (DATA / "health_terms.tsv").read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")][1:]
    return {kind: terms.split(";") for kind, terms in rows}


def _bodies() -> list[str]:
    return [ln.strip() for ln in (DATA / "bodies.txt").read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]


class Generator:
    def __init__(self, index: Index):
        self.index = index
        self.judge = Judge(index)
        self.kinds = _terms_by_kind()
        self.bodies = _bodies()
        # Countries the library mentions (hard near misses) and ones it never does (easy ones).
        self.mentioned, self.unmentioned = [], []
        for p in places().places:
            (self.mentioned if len(self._chunks(p.name)) else self.unmentioned).append(p.name)

    def _chunks(self, text: str) -> np.ndarray:
        q = analyse(f"About {text}?")
        found = [self.judge.term_chunks(t) for t in q.terms if t.named] or \
                [self.judge.term_chunks(t) for t in q.terms]
        if not found:
            return np.zeros(0, dtype=np.int64)
        out = found[0]
        for f in found[1:]:
            out = np.intersect1d(out, f)
        return out

    @staticmethod
    def _as(old: str, place, new: str) -> str:
        """The new place written as the old one is: a name, or an adjective ("European" -> "Chilean")."""
        return places().find(new).adjective if place.is_demonym(old) else new

    def _doc_chunks(self, doc: str) -> np.ndarray:
        lo, hi = self.index.doc_range(doc)
        return np.arange(lo, hi)

    def _rarest(self, q: Question) -> Term | None:
        content = [t for t in q.content if len(self.judge.term_chunks(t))]
        return max(content, key=lambda t: self.judge.idf(self.judge.term_chunks(t)), default=None)

    def swaps(self, item: dict) -> list[dict]:
        q = analyse(item["question"])
        doc = self._doc_chunks(item["doc"])
        rarest = self._rarest(q)
        near = self.judge.term_chunks(rarest) if rarest else np.zeros(0, dtype=np.int64)
        out = []
        rng = _rng(item["id"])

        def keep(kind: str, old: str, new: str) -> None:
            if re.search(rf"\bthe {re.escape(old)}", item["question"], re.I):
                new = re.sub(r"^the ", "", new)
            text = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, item["question"], count=1)
            if text != item["question"]:
                out.append({"id": f"gen-{item['id']}-{kind}", "question": text, "expect_abstain": True,
                            "near": True, "twin": item["id"], "swap": kind, "from": old, "to": new})

        for term in q.subjects:
            place = places().find(term.text)
            if place is not None:
                # A country the library mentions elsewhere (the hard case), else one it never does.
                pool = [c for c in self.mentioned if c != place.name]
                rng.shuffle(pool)
                for new in pool:
                    where = self._chunks(new)
                    if not np.isin(where, doc).any() and not np.isin(where, near).any():
                        keep("place", term.text, self._as(term.text, place, new))
                        break
                if len(self.unmentioned) and rng.random() < 0.3:
                    new = self.unmentioned[rng.integers(len(self.unmentioned))]
                    keep("place-absent", term.text, self._as(term.text, place, new))
                break
        else:
            bodies = [t for t in q.subjects if not t.is_acronym and places().find(t.text) is None]
            if bodies:
                pool = list(self.bodies)
                rng.shuffle(pool)
                for new in pool:
                    if not len(self._chunks(new)):
                        keep("body", bodies[0].text, new)
                        break
        for year in q.years:
            doc_text = " ".join(self.index.chunks[i].text for i in np.intersect1d(doc, near)) if len(near) else \
                " ".join(self.index.chunks[i].text for i in doc)
            options = [str(int(year) + d) for d in (-9, -8, -7, -6, 4, 5, 6)]
            rng.shuffle(options)
            new = next((y for y in options if y not in doc_text and int(y) <= 2026), None)
            if new:
                keep("year", year, new)
            break
        content = sorted((t for t in q.content if len(self.judge.term_chunks(t))),
                         key=lambda t: -self.judge.idf(self.judge.term_chunks(t)))
        places_asked = [self.judge.term_chunks(t) for t in q.subjects if places().find(t.text)]
        for term in content:  # the rarest word that is a term of a known kind
            word = term.text.lower()
            kind = next((k for k, terms in self.kinds.items() if any(word.rstrip("s") == t.rstrip("s") for t in terms)),
                        None)
            if kind is None:
                continue
            pool = [t for t in self.kinds[kind] if t.rstrip("s") != word.rstrip("s")]
            rng.shuffle(pool)
            for new in pool:
                where = self._chunks(new)
                if not np.isin(where, doc).any() and not any(np.isin(where, p).any() for p in places_asked):
                    keep(kind, term.text, new)
                    break
            break
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, help="index directory (default: the settings' index)")
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "generated" / "near_misses.jsonl")
    args = parser.parse_args(argv)
    index = Index.load(args.index, Settings.load())
    gen = Generator(index)
    items = [q for name in SOURCES for q in load_questions(REPO / "eval" / "dev" / f"{name}.jsonl")]
    rows = [row for item in items for row in gen.swaps(item)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["swap"]] = kinds.get(r["swap"], 0) + 1
    print(f"{len(rows)} near misses from {len(items)} answerable dev questions "
          f"({len({r['twin'] for r in rows})} of them have one or more): "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + f"; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
