"""The baseline: the canonical LangChain tutorial pipeline, on the same packaged model.

PyPDFLoader / TextLoader -> RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
-> all-MiniLM-L6-v2 embeddings -> langchain_community FAISS vector store (save_local /
load_local, similarity_search k=5).

The embeddings class does what `langchain_huggingface.HuggingFaceEmbeddings` does (a
SentenceTransformer on CPU, `encode` with its defaults). That package is not installed because
it pins huggingface-hub below 2, which would downgrade the hub library this project runs on.
"""
from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

SUFFIXES = {".pdf", ".txt", ".md"}


class MiniLMEmbeddings(Embeddings):
    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        from index.embedder import model_path

        self.client = SentenceTransformer(str(model_path()), device="cpu")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.client.encode(texts, show_progress_bar=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def load_files(folder: Path) -> list:
    from langchain_community.document_loaders import PyPDFLoader, TextLoader

    docs = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() == ".pdf":
            docs += PyPDFLoader(str(path)).load()
        elif path.suffix.lower() in SUFFIXES and path.name != "SOURCES.md":
            docs += TextLoader(str(path), encoding="utf-8").load()
    return docs


def ingest(folder: Path, out: Path) -> int:
    """Load, split, embed and save; returns the number of chunks."""
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        load_files(folder))
    FAISS.from_documents(splits, MiniLMEmbeddings()).save_local(str(out))
    return len(splits)


def open_store(path: Path):
    from langchain_community.vectorstores import FAISS

    # load_local unpickles the docstore: the tutorial's own index format needs this flag.
    return FAISS.load_local(str(path), MiniLMEmbeddings(), allow_dangerous_deserialization=True)


def search(store, query: str, k: int = 5) -> list:
    return store.similarity_search(query, k=k)
