"""The `hpsr` command: ingest, search, chat, eval. Heavy modules are imported per subcommand."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from ingest.errors import HpsrError

# The question sets and benchmarks that sit beside the checkout (../shared/eval).
SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hpsr", description="Cited-answer search over health policy and systems research documents.")
    parser.add_argument("--index", metavar="DIR", type=Path,
                        help="index directory (default: $HPSR_INDEX or .hpsr/index in the checkout)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="build or update the index from documents",
                       description="Index PDFs, .txt and .md files. Only new or changed files are "
                                   "read and embedded; the new index replaces the old atomically.")
    p.add_argument("paths", nargs="*", type=Path,
                   help="files or folders (default: the folders indexed last time, else corpus/)")
    p.add_argument("--full", action="store_true", help="re-read and re-embed every file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_ingest)

    p = sub.add_parser("search", help="show the passages that best match a query",
                       description="Rank indexed passages for QUERY.")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--doc", help="only search this document id (see `hpsr docs`)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_search)

    p = sub.add_parser("docs", help="list the indexed documents")
    p.set_defaults(run=_docs)

    p = sub.add_parser("chat", help="start the web chat (builds the index on first run)",
                       description="Serve the chat on http://HOST:PORT. It binds 127.0.0.1 unless "
                                   "told otherwise; use --auth when sharing it on a network.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("HPSR_PORT", 7860)),
                   help="port (default 7860, or $HPSR_PORT)")
    p.add_argument("--auth", default=os.environ.get("HPSR_AUTH"), metavar="USER:PASSWORD",
                   help="require this login (default: $HPSR_AUTH, else none)")
    p.set_defaults(run=_chat)

    p = sub.add_parser("calibrate", help="choose the abstention threshold on a question set",
                       description="Print the best-passage similarity of answerable and "
                                   "out-of-scope questions and the threshold between them.")
    p.add_argument("questions", nargs="?", type=Path,
                   default=SHARED_EVAL / "hpsr_dev.jsonl")
    p.set_defaults(run=_calibrate)

    p = sub.add_parser("eval", help="score retrieval on question sets (recall@1/5, MRR@10)",
                       description="Score each search mode on JSONL question sets (fields: question, "
                                   "expect, optional page / expect_abstain).")
    p.add_argument("questions", nargs="*", type=Path, help="JSONL files (default: the dev sets in ../shared/eval)")
    p.add_argument("--modes", default="dense,bm25,hybrid", help="comma-separated modes")
    p.add_argument("--beir", type=Path, action="append", default=[], metavar="DIR",
                   help="also score a BEIR benchmark folder (corpus.jsonl, queries.jsonl, qrels/test.tsv): "
                        "nDCG@10 and recall@100; repeatable. With --beir and no question files, only BEIR runs")
    p.add_argument("--split", default="test", help="BEIR qrels split to score (default test; e.g. train for tuning)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_eval)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except HpsrError as e:
        print(f"hpsr: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hpsr: interrupted", file=sys.stderr)
        return 130


def _ingest(args) -> int:
    from index import build_index

    report = build_index(args.paths or None, index_dir=args.index, progress=not args.quiet,
                         full=args.full)
    print(report.summary())
    return 1 if report.files == 0 else 0


def _search(args) -> int:
    from index import open_index

    hits = open_index(args.index).search(args.query, k=args.k, doc=args.doc)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("no passages found")
    for rank, h in enumerate(hits, 1):
        print(f"[{rank}] {h.score:.3f}  {h.citation()}  ({h.doc_id})")
        print("    " + h.text.replace("\n", "\n    ") + "\n")
    return 0


def _chat(args) -> int:
    from chatbot.app import launch
    from index import Settings

    launch(host=args.host, port=args.port, auth=args.auth, settings=Settings.load(index_dir=args.index))
    return 0


def _calibrate(args) -> int:
    from chatbot.calibrate import calibrate
    from index import open_index

    result = calibrate(open_index(args.index), args.questions)
    print(result.table())
    return 0


def _eval(args) -> int:
    from chatbot.answer import ABSTAIN_BELOW
    from index import Settings, open_index
    from index.evaluate import evaluate_dev

    modes = args.modes.split(",")
    files = args.questions or ([] if args.beir else [SHARED_EVAL / "hpsr_dev.jsonl", SHARED_EVAL / "pdf_dev.jsonl"])
    rows = []
    if files:
        idx = open_index(args.index)
        print(f"{'set':16} {'mode':7} {'R@1':>5} {'R@5':>5} {'MRR@10':>7} {'abstain acc':>11}")
        for f in files:
            for row in evaluate_dev(idx, f, modes, ABSTAIN_BELOW):
                acc = f"{row['abstain_acc']:.2f}" if "abstain_acc" in row else "-"
                print(f"{row['set']:16} {row['mode']:7} {row['recall@1']:5.2f} {row['recall@5']:5.2f} "
                      f"{row['mrr@10']:7.3f} {acc:>11}   misses@5: {' '.join(row['misses@5']) or '-'}")
                rows.append(row)
    for folder in args.beir:
        from index.beir import evaluate_beir

        settings = Settings.load()
        work = (args.index or settings.index_dir).parent / "beir" / folder.name
        print(f"{folder.name}: indexing the corpus in {work} (cached; only changes are re-embedded)",
              file=sys.stderr)
        beir_rows = evaluate_beir(folder, modes, work, settings, progress=not args.quiet, split=args.split)
        print(f"{'set':16} {'mode':7} {'nDCG@10':>8} {'R@100':>6}")
        for row in beir_rows:
            print(f"{row['set']:16} {row['mode']:7} {row['ndcg@10']:8.3f} {row['recall@100']:6.3f}")
        rows += beir_rows
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def _docs(args) -> int:
    from index import open_index

    idx = open_index(args.index)
    for doc_id, title in sorted(idx.documents.items()):
        print(f"{doc_id}\t{title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
