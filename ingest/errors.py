"""Domain errors. The library raises these; only the CLI and the app turn them into messages."""
from __future__ import annotations


class HpsrError(Exception):
    """Base class for every error hpsr-chat raises on purpose."""


class IngestError(HpsrError):
    """A file could not be read into a Document; the message names the file and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
