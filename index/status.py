"""What `hpsr status` reports: where the index is, its generations, and whether they verify."""
from __future__ import annotations

from pathlib import Path

from index.errors import IndexCorruptError, IndexMismatchError
from index.paths import path_of, roots
from index.settings import Settings
from index.manifest import Manifest
from index.stores import store_for



def status(index_dir: Path | None = None, settings: Settings | None = None) -> dict:
    """The index's state as plain data (see `hpsr status`); raises IndexNotFoundError."""
    settings = settings or Settings.load()
    index_dir = Path(index_dir) if index_dir else settings.index_dir
    store = store_for(index_dir, settings)
    live = store.live_name()
    gens = []
    for name, manifest, problem, seconds in store.generations():
        m = manifest or Manifest(model={}, chunker={}, chunks=None)
        gens.append({"name": name, "live": name == live, "built": m.built,
                     "verified": problem is None, "problem": problem, "verify_seconds": round(seconds, 4),
                     "bytes": sum(size for size, _ in m.contents.values()), "precision": m.model.get("precision"),
                     "documents": len(m.files), "chunks": m.chunks, "pages": m.pages})
    try:
        serving = store.open(expect=settings.identity())
        served, note, sources = serving.name, serving.problem, list(serving.manifest.sources)
    except (IndexCorruptError, IndexMismatchError) as e:
        served, note, sources = None, str(e), []
    rts = roots(settings)
    return {"index": str(index_dir), "store": store.describe(), "backend": settings.backend, "search": search_line(settings),
            "live": live, "serving": served, "note": note, "generations": gens,
            "sources": [str(path_of(k, rts)) for k in sources], "library": str(settings.library_dir)}


def search_line(settings: Settings) -> str:
    """How search ranks, with the weights it uses (HPSR_MODE, _FUSION, _ALPHA, _SENTENCE_WEIGHT,
    _FEEDBACK_TERMS)."""
    if settings.mode != "hybrid":
        return settings.mode
    fusion = ("reciprocal rank fusion" if settings.fusion == "rrf"
              else f"weighted fusion, dense {settings.alpha:g} and BM25 {1 - settings.alpha:g}")
    dense = f"passage {1 - settings.sentence_weight:g} + best sentence {settings.sentence_weight:g}"
    feedback = (f"BM25 feedback from the first passages: {settings.feedback_terms} words"
                if settings.feedback_terms else "no BM25 feedback")
    return f"hybrid: {fusion}; dense = {dense}; {feedback}"


def status_text(info: dict) -> str:
    """`status` for people, a line a fact."""
    lines = [f"index:     {info['index']}", f"store:     {info['store']}", f"backend:   {info['backend']}",
             f"search:    {info['search']}",
             f"sources:   {', '.join(info['sources']) or '-'}", f"library:   {info['library']} (uploads)"]
    for g in info["generations"]:
        role = "live" if g["live"] else "previous"
        size = f" ({g['bytes'] / 1e6:.1f} MB in {g['verify_seconds'] * 1000:.0f} ms)" if g["bytes"] else ""
        check = f"verified{size}" if g["verified"] else f"FAILED verification: {g['problem']}"
        lines.append(f"{role + ':':10} {g['name']}  built {g['built'] or '?'}  {g['precision'] or '?'}  "
                     f"{g['documents']} documents, {g['pages']} pages, {g['chunks']} chunks  {check}")
    if info["serving"] is None:
        lines.append(f"serving:   nothing: {info['note']}")
    elif info["serving"] != info["live"]:
        lines.append(f"serving:   {info['serving']} ({info['note']})")
    else:
        lines.append(f"serving:   {info['serving']} (the live generation)")
    return "\n".join(lines)
