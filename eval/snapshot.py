"""A snapshot of what the system answers, to show a refactor changed nothing.

    python eval/snapshot.py --index DIR OUT.json            # write one
    python eval/snapshot.py --compare BEFORE.json AFTER.json  # exit 1 if they differ

For every question of eval/dev and eval/sealed: the top 10 chunk ids and scores (5 decimals)
of each search mode, and the answer's text, abstention, reason, cited chunks and notes. Run it
with the code before a change (a `git worktree`, PYTHONPATH=<worktree>) and after, on the same
index, and compare.
"""
from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def snapshot(index_dir: str) -> list[dict]:
    from chatbot.answer import answer
    from index import Index
    from index.evaluate import load_questions

    idx = Index.load(index_dir)
    out = []
    for f in sorted(glob.glob(str(ROOT / "eval" / "dev" / "*.jsonl"))) + sorted(glob.glob(str(ROOT / "eval" / "sealed" / "*.jsonl"))):
        for q in load_questions(f):
            row = {"id": q["id"]}
            for mode in ("hybrid", "dense", "bm25"):
                row[mode] = [(h.chunk_id, round(h.score, 5)) for h in idx.search(q["question"], 10, mode=mode)]
            a = answer(idx, q["question"], previous=q.get("previous"))
            row["answer"] = [a.text, a.abstained, a.reason, [c.hit.chunk_id for c in a.citations], list(a.notes)]
            out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    if args.compare:
        before, after = (json.loads(Path(f).read_text()) for f in args.files[:2])
        diff = [(b["id"], k) for b, a in zip(before, after) for k in b if b[k] != a.get(k)]
        print(f"{len(before)} questions before, {len(after)} after; {len(diff)} differences {diff[:10]}")
        sys.exit(1 if diff or len(before) != len(after) else 0)
    rows = snapshot(args.index)
    Path(args.files[0]).write_text(json.dumps(rows))
    print(f"{len(rows)} questions written to {args.files[0]}")


if __name__ == "__main__":
    main()
