"""The manifest of an index generation (manifest.json, or the Qdrant collection's manifest
point): its format version, the check that a manifest is one this version reads with these
settings, and its typed form (Manifest, FileEntry) with their one codec (from_dict, to_dict)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.errors import REBUILD_HINT, IndexMismatchError

# 2: blocks.jsonl; chunks carry their block and kind. 3: table chunks. 4: sentence vectors.
# 5: checksums in the manifest, files keyed relative to their root (index.paths).
FORMAT_VERSION = 5


def check_manifest(manifest: dict, where: str, expect: dict | None) -> None:
    """IndexMismatchError unless the manifest has this format and the `expect`ed keys."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(f"{where} has format {manifest.get('format')}, "
                                 f"this version reads format {FORMAT_VERSION}; {REBUILD_HINT}")
    for key, want in (expect or {}).items():
        if manifest.get(key) != want:
            raise IndexMismatchError(
                f"{where} was built with {key}={manifest.get(key)}, but the "
                f"current settings need {key}={want}; {REBUILD_HINT}")


@dataclass(frozen=True)
class FileEntry:
    """One indexed file, by its key (index.paths): what it was when read, and what it gave."""

    sha256: str
    size: int
    mtime_ns: int
    doc_id: str
    title: str = ""
    chunks: int = 0
    blocks: int = 0  # pages or sections

    @classmethod
    def from_dict(cls, d: dict) -> "FileEntry":
        return cls(d["sha256"], int(d["size"]), int(d["mtime_ns"]), d["doc_id"], d.get("title", ""),
                   int(d.get("chunks", 0)), int(d.get("blocks", 0)))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Manifest:
    """What a generation holds and how it was made: the settings that must match to read it
    (model, chunker: Settings.identity), the sources and files indexed, and what the store
    records when it writes it (format, chunks, file checksums, vector index kind, store)."""

    model: dict  # name, dim, precision
    chunker: dict  # version, chunk_tokens, overlap_tokens, context, tables, sentence_vectors
    files: dict[str, FileEntry] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # the source folders or files, as keys (index.paths)
    excluded: tuple[str, ...] = ()  # keys of files left out (`hpsr remove`)
    built: str | None = None  # when, ISO 8601
    chunks: int = 0
    contents: dict[str, tuple[int, int]] = field(default_factory=dict)  # file -> (size, crc32); FAISS store
    vector_index: str = "flat"
    store: str = "faiss"
    alias: str | None = None  # the Qdrant alias it was built for (for people; pruning goes by name)
    format: int = FORMAT_VERSION

    @property
    def dim(self) -> int:
        return int(self.model["dim"])

    @property
    def pages(self) -> int:
        return sum(e.blocks for e in self.files.values())

    @classmethod
    def from_dict(cls, d: dict) -> "Manifest":
        """A manifest from its JSON form. KeyError or TypeError for one this version cannot read."""
        return cls(model=dict(d["model"]), chunker=dict(d["chunker"]),
                   files={k: FileEntry.from_dict(e) for k, e in d.get("files", {}).items()},
                   sources=tuple(d.get("sources", ())), excluded=tuple(d.get("excluded", ())),
                   built=d.get("built"), chunks=int(d.get("chunks", 0)),
                   contents={k: (int(v[0]), int(v[1])) for k, v in d.get("contents", {}).items()},
                   vector_index=d.get("vector_index", "flat"), store=d.get("store", "faiss"),
                   alias=d.get("alias"), format=int(d.get("format", 0)))

    def to_dict(self) -> dict:
        """The JSON form (manifest.json; the Qdrant manifest point's payload)."""
        out = {"model": self.model, "chunker": self.chunker, "sources": list(self.sources),
               "excluded": list(self.excluded), "files": {k: e.to_dict() for k, e in self.files.items()},
               "built": self.built, "format": self.format, "chunks": self.chunks, "vector_index": self.vector_index}
        if self.contents:
            out["contents"] = {k: list(v) for k, v in self.contents.items()}
        if self.store != "faiss":
            out["store"] = self.store
        if self.alias is not None:
            out["alias"] = self.alias
        return out
