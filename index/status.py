"""What `hpsr status` reports: where the index is, its generations, and whether they verify."""
from __future__ import annotations

import time
from pathlib import Path

from index.errors import IndexCorruptError, IndexMismatchError
from index.paths import path_of, roots
from index.settings import Settings
from index.store import current_generation, inspect_generation, load_generation

STORE = "FAISS vectors + BM25 (bm25s) in index generations on disk"


def status(index_dir: Path | None = None, settings: Settings | None = None) -> dict:
    """The index's state as plain data (see `hpsr status`); raises IndexNotFoundError."""
    settings = settings or Settings.load()
    index_dir = Path(index_dir) if index_dir else settings.index_dir
    live = current_generation(index_dir)
    gens = []
    for g in sorted(index_dir.glob("gen-*"), key=lambda g: g.name, reverse=True):
        t0 = time.perf_counter()
        manifest, problem = inspect_generation(g)
        seconds = time.perf_counter() - t0
        files = manifest.get("files", {})
        gens.append({"name": g.name, "live": g == live, "built": manifest.get("built"),
                     "verified": problem is None, "problem": problem, "verify_seconds": round(seconds, 4),
                     "bytes": sum(size for size, _ in manifest.get("contents", {}).values()),
                     "precision": manifest.get("model", {}).get("precision"),
                     "documents": len(files), "chunks": manifest.get("chunks"),
                     "pages": sum(e.get("blocks", 0) for e in files.values())})
    try:
        serving = load_generation(index_dir, expect=settings.identity())
        served, note, sources = serving.path.name, serving.problem, serving.manifest.get("sources", [])
    except (IndexCorruptError, IndexMismatchError) as e:
        served, note, sources = None, str(e), []
    rts = roots(settings)
    return {"index": str(index_dir), "store": STORE, "backend": settings.backend,
            "live": live.name, "serving": served, "note": note, "generations": gens,
            "sources": [str(path_of(k, rts)) for k in sources], "library": str(settings.library_dir)}


def status_text(info: dict) -> str:
    """`status` for people, a line a fact."""
    lines = [f"index:     {info['index']}", f"store:     {info['store']}", f"backend:   {info['backend']}",
             f"sources:   {', '.join(info['sources']) or '-'}", f"library:   {info['library']} (uploads)"]
    for g in info["generations"]:
        role = "live" if g["live"] else "previous"
        check = (f"verified ({g['bytes'] / 1e6:.1f} MB in {g['verify_seconds'] * 1000:.0f} ms)" if g["verified"]
                 else f"FAILED verification: {g['problem']}")
        lines.append(f"{role + ':':10} {g['name']}  built {g['built'] or '?'}  {g['precision'] or '?'}  "
                     f"{g['documents']} documents, {g['pages']} pages, {g['chunks']} chunks  {check}")
    if info["serving"] is None:
        lines.append(f"serving:   nothing: {info['note']}")
    elif info["serving"] != info["live"]:
        lines.append(f"serving:   {info['serving']} ({info['note']})")
    else:
        lines.append(f"serving:   {info['serving']} (the live generation)")
    return "\n".join(lines)
