"""Cutting a clean document into chunks (llama-index's SentenceSplitter) and sentences.

Both keep character offsets into the clean text: chunks are what retrieval returns, sentences
are what an extractive answer quotes and cites.
"""

from __future__ import annotations

import bisect
import itertools
import re
from functools import lru_cache

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

from vectorstore import Chunk, DocumentMeta, Sentence
from vectorstore.records import chunk_id

# A sentence ends at . ! ? … (with closing quotes) before a space and a capital, digit or quote,
# or at a line break. Initials and common abbreviations do not end one. It also ends between
# a word and a capitalised word with no space between them: two paragraphs glued by a scrape
# ("… les avancées technologiques.Selon certaines sources …"); a dotted name ("Node.js",
# "ASP.NET", "e.Leclerc") has a capital or too few lowercase letters on one side.
_SENTENCE_END = re.compile(
    r"(?<!\b[A-Z])(?<!\bM)(?<!\bMM)(?<!\bMme)(?<!\bDr)(?<!\bSt)(?<!\betc)(?<!\bvs)"
    r"[.!?…]+[»\"”’)]*(?=\s+[«\"“(]?[A-ZÀ-ÖØ-Þ0-9«\"“-])"
    r"|(?<=[a-zß-öø-ÿ]{3})[.!?…]+(?=[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]{2})"
)
_MIN_SENTENCE_CHARS = 3
# A longer run of text without sentence punctuation (keywords scraped onto one line, a table
# flattened) is cut into pieces of at most this many characters, at a clause's end where there
# is one, else between words. The sample's longest sentence has 341 characters; a chunk of 200
# tokens holds about 900, so a piece is always whole in some chunk and can be quoted.
MAX_SENTENCE_CHARS = 400
# The most text NLTK's Punkt reads at once (see `_bounded_sentences`); the sample's articles
# are under 11,000 characters, so their chunks do not depend on it.
PUNKT_BLOCK_CHARS = 20_000
_CLAUSE_END = re.compile(r"[,;:)](?=\s)|\s[–—-](?=\s)")


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    """llama-index's splitter, its sentences cut as `sentence_spans` cuts a long one, so that
    each piece of a long line is whole in some chunk and can be quoted."""
    return SentenceSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, chunking_tokenizer_fn=_bounded_sentences
    )


_sentences = split_by_sentence_tokenizer()


def _bounded_sentences(text: str) -> list[str]:
    """The splitter's own sentences (NLTK's Punkt), those over MAX_SENTENCE_CHARS cut line by
    line as `_bounded` cuts them: pieces that join back into the text, as the splitter needs.

    Punkt reads PUNKT_BLOCK_CHARS at most at a time, cut between lines (a longer line between
    the sentences `sentence_spans` finds): on a 1.9 MB paragraph its regular expression ran
    past NLTK's 5 s guard on a busy machine and failed the upload.
    """
    pieces: list[str] = []
    for block in _blocks(text):
        for sentence in _sentences(block):
            if len(sentence) <= MAX_SENTENCE_CHARS:
                pieces.append(sentence)
                continue
            for line in re.finditer(r"[^\n]*\n*", sentence):
                pieces.extend(
                    sentence[s:e] for s, e in _bounded(sentence, line.start(), line.end())
                )
    return [piece for piece in pieces if piece]


def _blocks(text: str) -> list[str]:
    """The text in consecutive pieces of at most PUNKT_BLOCK_CHARS, cut after a line break,
    else (in a longer line) before one of its sentences; the pieces join back into it."""
    if len(text) <= PUNKT_BLOCK_CHARS:
        return [text]
    cuts = [0]
    possible = [m.end() for m in re.finditer(r"\n+", text)]
    possible += [s for s, _ in sentence_spans(text)]
    last = 0  # the last possible cut seen
    for start in sorted(set(possible)):
        if start - cuts[-1] > PUNKT_BLOCK_CHARS:
            cuts.append(last if last > cuts[-1] else start)
        last = start
    return [text[a:b] for a, b in itertools.pairwise([*cuts, len(text)]) if b > a]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a text, in order; a line is never split across two
    sentences, and none is longer than MAX_SENTENCE_CHARS."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for end_match in _SENTENCE_END.finditer(line.group()):
            end = line.start() + end_match.end()
            spans.extend(_bounded(text, start, end))
            start = end
        spans.extend(_bounded(text, start, line.end()))
    return [(s + _lead(text, s, e), e) for s, e in spans if _is_sentence(text[s:e])]


def _bounded(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut into pieces of at most MAX_SENTENCE_CHARS: after the last clause end
    of the second half of each window, else at its last space, else at the limit."""
    pieces = []
    while end - start > MAX_SENTENCE_CHARS:
        window = text[start : start + MAX_SENTENCE_CHARS]
        clause = [m.end() for m in _CLAUSE_END.finditer(window, MAX_SENTENCE_CHARS // 2)]
        space = window.rfind(" ", MAX_SENTENCE_CHARS // 4)
        cut = clause[-1] if clause else space if space > 0 else MAX_SENTENCE_CHARS
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return pieces


def _is_sentence(text: str) -> bool:
    """Long enough, with a letter or a digit: "---|---|" and "…" are not sentences."""
    return len(text.strip()) >= _MIN_SENTENCE_CHARS and bool(re.search(r"\w", text))


def _lead(text: str, start: int, end: int) -> int:
    return len(text[start:end]) - len(text[start:end].lstrip())


def chunk_document(
    text: str, doc: DocumentMeta, chunk_size: int, chunk_overlap: int
) -> tuple[list[Chunk], list[Sentence]]:
    """Chunks of the clean text and the sentences of each chunk, with offsets into the text."""
    spans = sentence_spans(text)
    ends = [e for _, e in spans]
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    for index, (start, end) in enumerate(_chunk_spans(text, chunk_size, chunk_overlap)):
        chunk = Chunk(
            id=chunk_id(doc.doc_id, doc.content_hash, index),
            doc=doc,
            text=text[start:end],
            start=start,
            end=end,
            index=index,
        )
        chunks.append(chunk)
        for k, (s, e, whole) in enumerate(_within(text, spans, ends, start, end)):
            sentences.append(
                Sentence(
                    id=f"{chunk.id}:{k}",
                    doc_id=doc.doc_id,
                    chunk_id=chunk.id,
                    text=text[s:e],
                    start=s,
                    end=e,
                    content_hash=doc.content_hash,
                    whole=whole,
                )
            )
    return chunks, sentences


def _chunk_spans(text: str, chunk_size: int, chunk_overlap: int) -> list[tuple[int, int]]:
    """Where the splitter's chunks stand in the text, each looked for after the start of the
    one before, as llama-index's node parser places them (its nodes, ids and hashes cost a
    fifth of the chunking and are not used)."""
    located: list[tuple[int, int]] = []
    after = 0
    for content in _splitter(chunk_size, chunk_overlap).split_text(text):
        found = text.find(content, after)
        if found < 0:
            found = text.find(content)
        if found < 0:  # pragma: no cover - SentenceSplitter keeps text verbatim
            raise ValueError("a chunk's text is not found in its document")
        located.append((found, found + len(content)))
        after = found + 1
    return located


_MARKS = " \t\n«»“”\"'"  # what a boundary may cut off a sentence that stays whole


def _within(
    text: str, spans: list[tuple[int, int]], ends: list[int], start: int, end: int
) -> list[tuple[int, int, bool]]:
    """The sentences of `text` overlapping [start, end), clipped to it, each marked whole or
    not (`spans` in order, `ends` their ends).

    A piece cut by a chunk boundary still helps retrieval find the chunk, but is never quoted:
    the whole sentence stands in the neighbouring chunk, which the chunks' overlap provides.
    A sentence that loses only an opening or closing quotation mark to the boundary (a chunk
    starting at "Grâce à l'IA, ..." of "« Grâce à l'IA, ... »") is whole: all its words are
    there.
    """
    first = bisect.bisect_right(ends, start)
    pieces = (
        (
            max(s, start),
            min(e, end),
            not text[s:start].strip(_MARKS) and not text[end:e].strip(_MARKS),
        )
        for s, e in itertools.takewhile(lambda span: span[0] < end, spans[first:])
    )
    return [(s, e, whole) for s, e, whole in pieces if e - s >= _MIN_SENTENCE_CHARS]
