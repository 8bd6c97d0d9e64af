"""How the code holds together: packages depend one way (chatbot -> index -> ingest), modules
import no circle (function-local imports count: they hide circles, they do not break them),
and settings are read once, by the command line and the app, then handed down."""
from __future__ import annotations

import ast

from conftest import REPO

PACKAGES = ("ingest", "index", "chatbot")
LAYER = {"ingest": 0, "index": 1, "chatbot": 2}


def _imports() -> dict[str, set[str]]:
    """module -> the modules of the three packages it imports, anywhere in its code."""
    modules = {f"{p}.{f.stem}" if f.stem != "__init__" else p: f
               for p in PACKAGES for f in (REPO / p).glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def test_packages_depend_one_way():
    wrong = [(m, t) for m, ts in _imports().items() for t in ts
             if LAYER[t.split(".")[0]] > LAYER[m.split(".")[0]]]
    assert not wrong, f"imports against chatbot -> index -> ingest: {wrong}"


def test_no_module_imports_a_circle():
    graph = _imports()
    graph = {m: {t for t in ts if t not in PACKAGES} for m, ts in graph.items()}  # a package's __init__ re-exports
    circles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(node)

    done: set[str] = set()
    for m in sorted(graph):
        if m not in done:
            visit(m, [m])
    assert not circles, f"import circles: {circles[:5]}"


def test_settings_are_loaded_only_by_the_command_line_the_app_and_defaults():
    """Below the CLI and the app, code takes the Settings it is given: a function that loads
    them itself would ignore what its caller chose (an --index, a test's settings)."""
    allowed = {"chatbot/cli.py", "chatbot/app.py", "index/settings.py"}
    loading = []
    for p in PACKAGES:
        for f in (REPO / p).glob("*.py"):
            rel = f"{p}/{f.name}"
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if "Settings.load()" in line and rel not in allowed and "settings or Settings.load()" not in line:
                    loading.append(f"{rel}:{n}: {line.strip()}")
    assert not loading, "\n".join(loading)


def test_the_chat_searches_in_the_mode_settings_name(small_index):
    """HPSR_MODE reaches the chat's answers: answer() searches as the index's settings say."""
    import index
    from chatbot.answer import answer
    from index import Settings

    question = "Where do okapis live?"
    for mode in ("bm25", "dense"):
        idx = index.Index.load(small_index, Settings.load(mode=mode))
        hits = [h.chunk_id for h in answer(idx, question).hits]
        assert hits[:3] == [h.chunk_id for h in idx.search(question, len(hits), mode=mode)][:3], mode
    bm25 = answer(index.Index.load(small_index, Settings.load(mode="bm25")), question)
    assert bm25.confidence > 0 and all(h.similarity is not None for h in bm25.hits)  # the question's vector serves
