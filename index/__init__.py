"""Embed chunks into an index (FAISS files on disk, or Qdrant), and search it."""
from index.build import BuildReport, build_index, remove_document
from index.errors import (ConfigError, IndexCorruptError, IndexMismatchError, IndexNotFoundError, QueryError,
                          StoreUnavailableError)
from index.search import Hit, Index, open_index, search
from index.settings import Settings

__all__ = [
    "BuildReport", "ConfigError", "Hit", "Index", "IndexCorruptError", "IndexMismatchError",
    "IndexNotFoundError", "QueryError", "Settings", "StoreUnavailableError", "build_index", "open_index",
    "remove_document", "search",
]
