"""Read documents (the types of ingest.formats) and cut them into token-bounded chunks."""
from ingest.chunker import chunk_document
from ingest.errors import HpsrError, IngestError
from ingest.loaders import SUPPORTED, discover, load_document
from ingest.types import Block, Chunk, Document, Table, page_ref

__all__ = [
    "Block", "Chunk", "Document", "HpsrError", "IngestError", "SUPPORTED", "Table", "page_ref",
    "chunk_document", "discover", "load_document",
]
