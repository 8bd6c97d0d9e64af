"""How the index names a file, so that moving the checkout or a library folder changes nothing.

A file under one of the roots (the library folder, the corpus folder, the checkout) is keyed by
its path inside that root, e.g. "corpus:reports/alliance.pdf"; any other file by its absolute
path. The index stores keys only; `path_of` finds the file again under today's roots.
"""
from __future__ import annotations

import os
from pathlib import Path

from index.settings import REPO_ROOT, Settings

Roots = list[tuple[str, str]]  # (name, real path), deepest first


def roots(settings: Settings) -> Roots:
    """The named folders files are keyed under; a file under several goes by the deepest."""
    named = [("library", settings.library_dir), ("corpus", settings.corpus_dir), ("checkout", REPO_ROOT)]
    real = [(name, os.path.realpath(Path(folder).expanduser())) for name, folder in named]
    return sorted(real, key=lambda r: -len(Path(r[1]).parts))


def key_of(path: str | Path, roots: Roots) -> str:
    """The key of a file or folder: 'root:relative/path', or its absolute real path."""
    real = os.path.realpath(path)
    for name, root in roots:
        if real == root:
            return f"{name}:"
        if real.startswith(root.rstrip("/") + "/"):
            return f"{name}:{os.path.relpath(real, root)}"
    return real


def path_of(key: str, roots: Roots) -> Path:
    """Where the file or folder of `key` is now."""
    name, sep, rel = key.partition(":")
    if sep and not key.startswith("/"):
        for root_name, root in roots:
            if root_name == name:
                return Path(root) / rel if rel else Path(root)
    return Path(key)


def is_under(key: str, folder: str) -> bool:
    """Whether the file of `key` is the folder of key `folder` or inside it."""
    if key == folder:
        return True
    return key.startswith(folder if folder.endswith((":", "/")) else folder + "/")
