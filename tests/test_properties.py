"""Property tests (hypothesis) for the loaders and the chunker, on arbitrary text.

Example counts are modest so the default run stays fast; `-m soak` runs the same properties
with many more examples (HPSR_HYPOTHESIS_EXAMPLES overrides both).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.embedder import token_counter
from index.settings import suite_variable
from ingest import Block, Document, IngestError, chunk_document, load_document
from ingest.normalize import clean

FAST = int(suite_variable("HPSR_HYPOTHESIS_EXAMPLES", "60"))
SOAK = int(suite_variable("HPSR_HYPOTHESIS_EXAMPLES", "1500"))
COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Text that exercises the splitter: words, separators it splits at, repeats, non-Latin
# scripts, control and bidi characters, and the odd surrogate-free code point.
_pieces = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", "\t", "\r\n", "\u202e", "\x00",
                     "\u00a0", "word", "Health", "2024", "e.g.", "-\n", "\u4e2d\u6587", "\u0627\u0644",
                     "\U0001F600", "aaaa", "...."]),
)
texts = st.lists(_pieces, max_size=120).map("".join)


def _check_chunks(text: str, max_tokens: int, overlap: int) -> None:
    count = token_counter()
    doc = Document(doc_id="p", title="P", source="p.txt", blocks=(Block(text, None, None),))
    chunks = chunk_document(doc, count, max_tokens, overlap)
    covered = [False] * len(text)
    for c in chunks:
        assert c.text, "empty chunk"
        assert text[c.start:c.end] == c.text, f"offsets [{c.start}:{c.end}] do not point to the text"
        n = count(c.text)
        assert n <= max_tokens, f"chunk of {n} tokens > {max_tokens}: {c.text!r}"
        for i in range(c.start, c.end):
            covered[i] = True
    lost = "".join(ch for ch, cov in zip(text, covered) if not cov and not ch.isspace())
    assert not lost, f"text in no chunk: {lost[:80]!r}"
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start and a.end < b.end, (
            f"chunks out of order or nested: [{a.start}:{a.end}] then [{b.start}:{b.end}]")
        if b.start < a.end:  # the overlap carries at most `overlap` tokens (+ slack at the joins)
            shared = count(text[b.start:a.end])
            assert shared <= overlap + 8, f"overlap of {shared} tokens > {overlap}: {text[b.start:a.end]!r}"


def _check_loader(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"doc{suffix}"
        path.write_bytes(data)
        try:
            doc = load_document(path)
        except IngestError as e:
            assert e.path == str(path) and e.reason
            return
    assert doc.blocks, "a Document without blocks"
    for b in doc.blocks:
        assert b.text.strip() == b.text and b.text, f"untrimmed or empty block {b.text!r}"
        assert clean(b.text) == b.text, "block text not normalised"


def test_a_repeated_overlap_tail_is_not_a_chunk_of_its_own():
    """Found by the soak: the splitter ends '0' * 16 with a piece '00' that repeats its overlap,
    which landed nested inside the chunk before it."""
    _check_chunks("0" * 16, 8, 1)


@settings(max_examples=FAST, **COMMON)
@given(texts, st.integers(8, 64), st.data())
def test_chunks_are_bounded_point_to_their_text_and_lose_nothing(text, max_tokens, data):
    _check_chunks(text, max_tokens, data.draw(st.integers(0, max_tokens // 2)))


@settings(max_examples=FAST, **COMMON)
@given(texts)
def test_chunks_of_cleaned_text(text):
    _check_chunks(clean(text), 32, 8)


@settings(max_examples=FAST, **COMMON)
@given(st.one_of(st.binary(max_size=3000), texts.map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.sampled_from([".txt", ".md"]))
def test_text_loaders_never_crash(data, suffix):
    _check_loader(data, suffix)


@pytest.mark.soak
@settings(max_examples=SOAK, **COMMON)
@given(texts, st.integers(8, 64), st.data())
def test_soak_chunk_properties(text, max_tokens, data):
    _check_chunks(text, max_tokens, data.draw(st.integers(0, max_tokens // 2)))


@pytest.mark.soak
@settings(max_examples=SOAK, **COMMON)
@given(st.one_of(st.binary(max_size=6000), texts.map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.sampled_from([".txt", ".md", ".markdown"]))
def test_soak_text_loaders(data, suffix):
    _check_loader(data, suffix)
