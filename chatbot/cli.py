"""The `hpsr` command: ingest, search, chat, eval. Heavy modules are imported per subcommand."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from ingest.errors import HpsrError
from ingest.formats import described

# The project's question sets, in the checkout: eval/dev (tuning), eval/generated (near misses
# made from dev by eval/near_misses.py, for fitting the abstention weights) and eval/sealed
# (held out: measured once, after the work it measures).
EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"


def _sets(split: str, names: tuple[str, ...] = ()) -> list[Path]:
    """The question sets of one split (all of them, or those named), in a fixed order."""
    files = sorted((EVAL_DIR / split).glob("*.jsonl"))
    return [f for f in files if not names or f.stem in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hpsr", description="Cited-answer search over health policy and systems research documents.")
    parser.add_argument("--index", metavar="DIR", type=Path,
                        help="index directory (default: $HPSR_INDEX or .hpsr/index in the checkout)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="build or update the index from documents",
                       description=f"Index {described()} files. Only new or changed files are "
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

    p = sub.add_parser("ask", help="answer a question with cited sentences, as the chat does",
                       description="Answer QUESTION from the indexed documents, as the chat does: the "
                                   "answer with [n], then each source with its title, printed page and "
                                   "a file URL at the page. Exit status: 0 answered, 3 the documents "
                                   "don't answer it (the reason is printed), 2 an error.")
    p.add_argument("question")
    p.add_argument("--doc", help="only answer from this document id (see `hpsr docs`)")
    p.add_argument("--previous", help="the previous question, for a follow-up ('and when was it founded?')")
    p.add_argument("--json", action="store_true", help="machine-readable output (as the chat's /answer API)")
    p.set_defaults(run=_ask)

    p = sub.add_parser("status", help="where the index is, its generations, and whether they verify",
                       description="Show the index path, the store, the live and previous generations "
                                   "(when built, backend, documents, pages, chunks) and whether each "
                                   "passes verification. Exit status 1 if the live one fails it.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_status)

    p = sub.add_parser("docs", help="list the indexed documents")
    p.set_defaults(run=_docs)

    p = sub.add_parser("remove", help="take a document out of the index (its file stays)",
                       description="Re-index without DOC (an id from `hpsr docs`), atomically like any "
                                   "rebuild; later `ingest` runs leave it out too, until its file is "
                                   "named again: `hpsr ingest PATH`.")
    p.add_argument("doc")
    p.set_defaults(run=_remove)

    p = sub.add_parser("chat", help="start the web chat (builds the index on first run)",
                       description="Serve the chat on http://HOST:PORT. It binds 127.0.0.1 unless "
                                   "told otherwise; use --auth when sharing it on a network.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default $HPSR_PORT, else 7860)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require this login (default: $HPSR_AUTH, else none)")
    p.set_defaults(run=_chat)

    p = sub.add_parser("calibrate", help="fit the abstention weights on question sets",
                       description="Answer each question with the abstention weights off, keep the signals "
                                   "each decision rests on, fit the weights of those signals (a logistic "
                                   "regression) and choose the threshold that refuses the most out-of-scope "
                                   "questions while refusing at most --max-false of the answerable ones, "
                                   "on questions the weights were not fitted on. Prints the figures; "
                                   "--write saves the weights.")
    p.add_argument("questions", nargs="*", type=Path,
                   help="JSONL files (default: eval/dev/*.jsonl and eval/generated/near_misses.jsonl)")
    p.add_argument("--max-false", type=float, default=0.05,
                   help="largest share of answerable questions it may refuse (default 0.05)")
    p.add_argument("--write", nargs="?", type=Path, const=True, metavar="FILE",
                   help="save the weights as JSON to FILE (default: the ones the chat uses, "
                        "chatbot/data/abstain.json); point HPSR_ABSTAIN_WEIGHTS at another file to use it")
    p.set_defaults(run=_calibrate)

    p = sub.add_parser("eval", help="score retrieval (recall@1/5, MRR@10) or answers (--answers)",
                       description="Score each search mode on JSONL question sets (fields: question, "
                                   "expect, optional page / doc / expect_abstain / previous); with "
                                   "--answers, score the chat's answers instead.")
    p.add_argument("questions", nargs="*", type=Path,
                   help="JSONL files (default: eval/dev; retrieval uses its report, pdfs and tables sets). The "
                        "held-out split, eval/sealed, is scored only when named")
    p.add_argument("--answers", action="store_true",
                   help="score answers: answered rate, fact in answer, cited page, verbatim quotes, "
                        "abstention on out-of-scope questions, false abstentions, latency")
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
        code = args.run(args)
        sys.stdout.flush()  # here, where a reader gone away is caught, not at exit
        return code
    except HpsrError as e:
        print(f"hpsr: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hpsr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: the reader has had enough. Stop quietly, as
        # other command-line tools do (status 128 + SIGPIPE); what is left to print goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _ingest(args) -> int:
    from index import build_index

    if args.paths and not any(p.exists() or p.is_symlink() for p in args.paths):
        raise HpsrError(f"no such file or folder: {', '.join(map(str, args.paths))} (the index is unchanged)")

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

    settings = Settings.load(index_dir=args.index, port=args.port, auth=args.auth)
    launch(host=args.host, port=settings.port, auth=settings.auth, settings=settings)
    return 0


def _calibrate(args) -> int:
    from chatbot.calibrate import calibrate
    from chatbot.signals import WEIGHTS_FILE
    from index import open_index

    files = args.questions or _sets("dev") + _sets("generated")
    _check_files(files)
    result = calibrate(open_index(args.index), files, max_false=args.max_false)
    print(result.table())
    if args.write:
        target = WEIGHTS_FILE if args.write is True else args.write
        result.weights.save(target)
        print(f"weights written to {target}")
    return 0


def _check_files(files: list[Path]) -> None:
    missing = [str(f) for f in files if not f.is_file()]
    if not files or missing:
        raise HpsrError(f"question set(s) not found: {', '.join(missing) or EVAL_DIR}")


def _eval(args) -> int:
    from index import Settings, open_index
    from index.evaluate import evaluate_dev

    if args.answers:
        return _eval_answers(args)
    modes = args.modes.split(",")
    answerable = ("report", "pdfs", "tables")
    files = args.questions or ([] if args.beir else _sets("dev", answerable))
    rows = []
    if files:
        _check_files(files)
        idx = open_index(args.index)
        print(f"{'set':16} {'mode':7} {'R@1':>5} {'R@5':>5} {'MRR@10':>7}")
        for f in files:
            for row in evaluate_dev(idx, f, modes):
                row["set"] = f"{f.parent.name}/{f.stem}"
                print(f"{row['set']:16} {row['mode']:7} {row['recall@1']:5.2f} {row['recall@5']:5.2f} "
                      f"{row['mrr@10']:7.3f}   misses@5: {' '.join(row['misses@5']) or '-'}")
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


def _eval_answers(args) -> int:
    from chatbot.evaluate import run_set, table
    from index import open_index

    files = args.questions or _sets("dev")
    _check_files(files)
    idx = open_index(args.index)
    rows = [run_set(idx, f).row() for f in files]
    print(table(rows))
    for r in rows:
        if r["misses"] or r["wrong_answers"]:
            print(f"{r['set']}: fact not in answer: {' '.join(r['misses']) or '-'} "
                  f"({len(r['misses_not_retrieved'])} of them not among the candidate sentences); "
                  f"answered though out of scope: {' '.join(r['wrong_answers']) or '-'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


ANSWERED, ABSTAINED = 0, 3  # `hpsr ask` exit status (2: an error, as for every command)


def _ask(args) -> int:
    from chatbot.answer import answer
    from chatbot.render import answer_json, where
    from chatbot.viewer import file_url
    from index import open_index

    ans = answer(open_index(args.index), args.question, previous=args.previous, doc=args.doc)
    if args.json:
        print(json.dumps(answer_json(ans, local=True), ensure_ascii=False, indent=1))
        return ABSTAINED if ans.abstained else ANSWERED
    for note in ans.notes:
        print(note)
    if ans.rewritten:
        print(f"Searched as: {ans.search_query}")
    if ans.abstained:
        print(f"{ans.text} {ans.reason}\n\nNearest passages (low confidence):")
        for h in ans.hits[:3]:
            print(f"- {h.title}, {where(h)}\n  {file_url(h)}")
        return ABSTAINED
    print(ans.text + "\n\nSources:")
    for c in ans.citations:
        print(f"[{c.number}] {c.hit.title}, {where(c.hit, c.table)}\n    {file_url(c.hit)}")
    return ANSWERED


def _remove(args) -> int:
    from index import remove_document

    print(remove_document(args.doc, index_dir=args.index).summary())
    return 0


def _status(args) -> int:
    from index.status import status, status_text

    info = status(args.index)
    print(json.dumps(info, indent=1) if args.json else status_text(info))
    return 0 if info["serving"] == info["live"] else 1


def _docs(args) -> int:
    from index import open_index

    idx = open_index(args.index)
    for doc_id, title in sorted(idx.documents.items()):
        print(f"{doc_id}\t{title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
