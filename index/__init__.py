"""Embed chunks into a FAISS index on disk, and search it."""
from index.build import BuildReport, build_index, remove_document
from index.errors import ConfigError, IndexCorruptError, IndexMismatchError, IndexNotFoundError, QueryError
from index.search import Hit, Index, open_index, search
from index.settings import Settings

__all__ = [
    "BuildReport", "ConfigError", "Hit", "Index", "IndexCorruptError", "IndexMismatchError",
    "IndexNotFoundError", "QueryError", "Settings", "build_index", "open_index", "remove_document", "search",
]
