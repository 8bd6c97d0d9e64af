"""Errors of the index layer. Each message says what is wrong and how to fix it."""
from __future__ import annotations

from ingest.errors import HpsrError

REBUILD_HINT = "rebuild it with `hpsr ingest` (or `make index`)"


class ConfigError(HpsrError):
    """A setting has an unknown name or a bad value."""


class IndexNotFoundError(HpsrError):
    """There is no index at the given location yet."""


class IndexCorruptError(HpsrError):
    """Index files are missing, unreadable or inconsistent."""


class IndexMismatchError(HpsrError):
    """The index was built with another model, chunker or format version."""


class QueryError(HpsrError):
    """The query or its parameters are unusable (empty query, k < 1, unknown document)."""


class StoreUnavailableError(HpsrError):
    """The store (a Qdrant server or embedded folder) cannot be reached or opened."""
