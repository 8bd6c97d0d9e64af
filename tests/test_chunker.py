"""Chunker: every chunk fits the model, points back into its block, and long text still splits."""
from __future__ import annotations

import pytest

from conftest import CORPUS
from index.texts import embedding_text
from index.embedder import MAX_SEQ_TOKENS, model_path, token_counter
from ingest import Block, Document, chunk_document, discover, load_document
from ingest.types import address

MAX_TOKENS, OVERLAP = 192, 32


@pytest.fixture(scope="module")
def model_tokenizer():
    """The tokenizer the model runs with (transformers, as sentence-transformers loads it)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_path()))


def _model_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


@pytest.fixture(scope="module")
def corpus_chunks():
    """(document, its chunks) for every file of the bundled corpus."""
    files, skipped = discover([CORPUS])
    assert files and not skipped, f"corpus: {files} {skipped}"
    count = token_counter()
    out = []
    for f in files:
        doc = load_document(f)
        out.append((doc, chunk_document(doc, count, MAX_TOKENS, OVERLAP)))
    return out


def _doc(text: str) -> Document:
    return Document(doc_id="x", title="X", source="x.txt", blocks=(Block(text, None, None),))


def test_corpus_chunks_fit_the_token_budget(corpus_chunks):
    count = token_counter()
    over = [(c.chunk_id, count(c.text)) for _, chunks in corpus_chunks for c in chunks
            if count(c.text) > MAX_TOKENS]
    assert not over, f"chunks over {MAX_TOKENS} tokens: {over[:10]}"
    assert sum(len(chunks) for _, chunks in corpus_chunks) > 500


def test_corpus_chunks_fit_the_model_with_special_tokens(corpus_chunks, model_tokenizer):
    # What the model reads is the chunk with its title/section prefix; nothing may be truncated.
    over = []
    for _, chunks in corpus_chunks:
        for c in chunks:
            n_text = _model_tokens(model_tokenizer, c.text)
            n_embedded = _model_tokens(model_tokenizer, embedding_text(c))
            if n_text > MAX_SEQ_TOKENS or n_embedded > MAX_SEQ_TOKENS:
                over.append((c.chunk_id, n_text, n_embedded))
    assert not over, f"chunks the model would truncate at {MAX_SEQ_TOKENS}: {over[:10]}"


def test_corpus_chunk_text_is_a_slice_of_its_block(corpus_chunks):
    for doc, chunks in corpus_chunks:
        blocks = list(doc.blocks)
        b = 0  # chunks come block by block, in order (table chunks, after them, have no block)
        for c in (c for c in chunks if c.table is None):
            while b < len(blocks) and not (
                    (blocks[b].page, blocks[b].section) == (c.page, c.section)
                    and blocks[b].text[c.start:c.end] == c.text):
                b += 1
            assert b < len(blocks), (f"{c.chunk_id}: text is not block.text[{c.start}:{c.end}] "
                                     f"of any later block: {c.text[:80]!r}")
            assert c.text.strip() == c.text and c.text, f"{c.chunk_id}: untrimmed or empty"
            assert c.doc_id == doc.doc_id and c.title == doc.title


def test_corpus_chunk_offsets_cover_each_block_in_order(corpus_chunks):
    """Offsets say where a chunk comes from: consecutive chunks of a block move forward, and
    no text of the block falls between two chunks."""
    problems = []
    for doc, chunks in corpus_chunks:
        texts = {(b.page, b.section): b.text for b in doc.blocks}
        prose = [c for c in chunks if c.table is None]
        for a, b in zip(prose, prose[1:]):
            if (a.page, a.section) != (b.page, b.section):
                continue
            between = texts[(a.page, a.section)][a.end:b.start]
            if b.start <= a.start or between.strip():
                problems.append(f"{a.chunk_id} [{a.start}:{a.end}] -> {b.chunk_id} "
                                f"[{b.start}:{b.end}], uncovered {between[:60]!r}")
    assert not problems, "chunk offsets out of order or leaving text out:\n" + "\n".join(problems)


def test_chunk_ids_are_unique_and_hashes_match(corpus_chunks):
    import hashlib

    ids = [c.chunk_id for _, chunks in corpus_chunks for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    for _, chunks in corpus_chunks:
        for c in chunks:
            assert c.hash == hashlib.sha256(c.text.encode("utf-8")).hexdigest(), c.chunk_id


@pytest.mark.parametrize("text", [
    "a" * 5000,  # one "word" with no spaces: the splitter's last resort, characters
    "x" * 20000,
    "\u4e2d\u6587" * 1500,  # CJK: every character a token
    " ".join(f"word{i}" for i in range(3000)),  # one endless sentence without punctuation
    "ab," * 3000,  # clauses without spaces
], ids=["a*5000", "x*20000", "cjk", "long-sentence", "commas"])
def test_pathological_text_gives_bounded_chunks(text):
    count = token_counter()
    chunks = chunk_document(_doc(text), count, MAX_TOKENS, OVERLAP)
    assert chunks, "no chunks"
    worst = max(count(c.text) for c in chunks)
    assert worst <= MAX_TOKENS, f"a chunk has {worst} tokens"
    for c in chunks:
        assert text[c.start:c.end] == c.text, c.chunk_id
    covered = sum(len(c.text) for c in chunks)
    assert covered >= len(text.replace(" ", "")) * 0.99, "chunks lost part of the text"


@pytest.mark.parametrize("text", [
    " ".join(f"word{i}" for i in range(3000)),
], ids=["long-sentence"])
def test_pathological_text_offsets_reach_the_end(text):
    # Not asserted for text that is one character repeated ("a" * 5000): every position
    # matches every piece there, so where a piece "came from" is undefined.
    chunks = chunk_document(_doc(text), token_counter(), MAX_TOKENS, OVERLAP)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text), (
        f"last chunk ends at {chunks[-1].end} of {len(text)}; starts: {[c.start for c in chunks[:8]]}")
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts)), f"chunk starts not increasing: {starts[:8]}"


def test_consecutive_chunks_of_a_long_block_overlap():
    sentences = [f"Sentence number {i} says that district {i} opened a new clinic in {1990 + i}."
                 for i in range(120)]
    text = " ".join(sentences)
    count = token_counter()
    chunks = chunk_document(_doc(text), count, MAX_TOKENS, OVERLAP)
    assert len(chunks) >= 3, len(chunks)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, f"{a.chunk_id} and {b.chunk_id} do not overlap"
        assert a.start < b.start, "chunks out of order"
        shared = text[b.start:a.end]
        assert 0 < count(shared) <= OVERLAP + 8, f"overlap of {count(shared)} tokens: {shared!r}"
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_chunks_never_cross_blocks():
    doc = Document(doc_id="d", title="D", source="d.pdf", blocks=(
        Block("First page text about tapirs. " * 40, 1, None),
        Block("Second page text about ibexes. " * 40, 2, None)))
    chunks = chunk_document(doc, token_counter(), 64, 8)
    for c in chunks:
        assert ("tapirs" in c.text) != ("ibexes" in c.text), f"{c.chunk_id} mixes pages"
        assert c.page == (1 if "tapirs" in c.text else 2)
    assert address(chunks[0].page, chunks[0].page_label, chunks[0].section) == "p. 1"


def test_bad_overlap_is_refused():
    with pytest.raises(ValueError):
        chunk_document(_doc("some text"), token_counter(), 32, 32)
