"""Text clean-up shared by the loaders: Unicode, whitespace, hyphenation, page furniture."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Control characters other than tab and newline, plus bidi overrides/isolates that can
# disguise text (U+202A–U+202E, U+2066–U+2069), zero-width marks and the soft hyphen.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_HYPHEN_BREAK = re.compile(r"(\w+)-\n[ \t]*([a-z]\w*)")
_MID_SENTENCE = re.compile(r"(?:[,–—-]|\b(?:a|an|the|of|in|on|at|to|for|from|by|with|and|or|but|as|"
                           r"than|that|which|who|whose|its|their|is|are|was|were|be|has|have|had|into|"
                           r"under|between|such|per|via|not|all|both|each|this|these|those))\s*$")
_SENTENCE_END = (".", "!", "?", ":", ";", "”", '"', ")")


def clean(text: str) -> str:
    """NFKC, drop invisible/control characters, collapse spaces, trim each line."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# A document's own footnote mark: "Atlantis[1]", "Atlantis[ 1]", "patients [1]" (not a line's start).
FOOTNOTE_MARK = re.compile(r"(?<=[\w.,;:)’\"”])\s?\[\s?\d{1,3}\s?\]")


def name_as_title(path) -> str:
    """A file's name as a title, when the file gives none: "policy-brief_2024" -> "policy brief 2024"."""
    return path.stem.replace("-", " ").replace("_", " ")


def clean_title(title: str) -> str:
    """A document title without footnote marks or doubled spaces ("... in Atlantis[1]")."""
    return " ".join(FOOTNOTE_MARK.sub("", title).split())


def dehyphenate(text: str, keep: set[str] | frozenset[str] = frozenset()) -> str:
    """Join words split across line ends ('informa-\\ntion' -> 'information').

    A compound in `keep` (lowercase, e.g. 'evidence-informed', seen unbroken elsewhere in
    the document) keeps its hyphen.
    """

    def join(m: re.Match[str]) -> str:
        head, tail = m.group(1), m.group(2)
        if f"{head}-{tail}".lower() in keep:
            return f"{head}-{tail}"
        return head + tail

    return _HYPHEN_BREAK.sub(join, text)


def hyphenated_words(texts: list[str]) -> set[str]:
    """Lowercase hyphenated compounds that occur within a line somewhere in `texts`."""
    words: set[str] = set()
    for text in texts:
        words.update(w.lower() for w in re.findall(r"\w+-\w+", text))
    return words


def _furniture_key(line: str) -> str:
    # Page numbers change from page to page; compare header/footer lines without digits.
    return re.sub(r"\d+", "#", line.strip().lower())


def strip_page_furniture(pages: list[str], edge: int = 3, share: float = 0.25) -> list[str]:
    """Remove header/footer lines repeated on many pages, and bare page numbers.

    Only the first and last `edge` lines of a page are candidates. A line is furniture when
    its digit-blind form appears at a page edge on at least `share` of the pages (and on 3+
    pages): running titles alternate between odd and even pages, so each is on at most half, and
    some pages (covers, full-page figures) have none.
    """
    split = [[ln for ln in p.split("\n")] for p in pages]
    counts: Counter[str] = Counter()
    for lines in split:
        counts.update({_furniture_key(ln) for ln in lines[:edge] + lines[-edge:] if ln.strip()})
    threshold = max(3, share * len(pages))
    furniture = {key for key, n in counts.items() if n >= threshold}
    # The running title itself, without its page number: on a two-page spread it comes twice on
    # one line ("10 STRATEGY 2024–2028 ATLANTIS STRATEGY 2024–2028 ATLANTIS 11"), and the
    # text extractor sometimes runs it into a line of text. Only long titles set in capitals
    # are cut out of lines; a title in ordinary case could be a sentence of the text.
    titles = sorted({k.strip("# ") for k in furniture if len(k.strip("# ")) >= 20}, key=len, reverse=True)
    number = r"(?:\d+|[ivxlc]+)"
    in_line = re.compile(rf"(?:\b{number}\s+)?(?:{'|'.join(_title_pattern(t) for t in titles)})(?:\s+{number}\b)?"
                         ) if titles else None
    out = []
    for lines in split:
        n = len(lines)

        def is_furniture(i: int, line: str) -> bool:
            at_edge = i < edge or i >= n - edge
            key = _furniture_key(line)
            # "Running title 4" on one line, where other pages give the title and its number
            # on two (text extractors differ), is furniture too.
            bare = re.sub(r"^#\s+|\s+#$", "", key)
            return at_edge and (key in furniture or bare in furniture
                                or re.fullmatch(r"#|page #( of #)?", key) is not None)

        kept = []
        for i, line in enumerate(lines):
            if is_furniture(i, line):
                continue
            if in_line is not None:
                cut = in_line.sub(" ", line)
                if cut != line:
                    line = re.sub(r" {2,}", " ", cut).strip()
                    if not line:
                        continue
            kept.append(line)
        out.append("\n".join(kept))
    return out


def _title_pattern(key: str) -> str:
    """A regex for a running title in capitals, from its digit-blind lowercase key."""
    parts = [re.escape(p.upper()) for p in key.split("#")]
    return r"\d+".join(parts).replace("\\ ", r"\s+")


def unwrap_lines(text: str) -> str:
    """Join the hard-wrapped lines of a PDF page into paragraphs.

    A line break is kept (as a paragraph break) after a line that ends a sentence and is
    clearly shorter than the page's full lines, or around short heading-like lines;
    other line breaks are wrap points and become spaces.
    """
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return ""
    width = max(len(ln) for ln in lines)
    out: list[str] = [lines[0]]
    for prev, line in zip(lines, lines[1:]):
        short = len(prev) < 0.7 * width
        ends_sentence = prev.rstrip().endswith(_SENTENCE_END)
        # "Each municipality has a network of" / "PHC, including ...": a line that stops on a
        # joining word or a comma is inside a sentence, however short it is.
        mid_sentence = _MID_SENTENCE.search(prev) is not None
        heading_like = (short and not ends_sentence and not mid_sentence and line[:1].isupper()
                        and len(prev) < 0.5 * width)
        if (short and ends_sentence) or heading_like:
            out.append("\n\n" + line)
        else:
            out.append(" " + line)
    return "".join(out)
