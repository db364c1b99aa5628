"""Cutting a clean document into chunks (llama-index's SentenceSplitter) and sentences.

Both keep character offsets into the clean text: chunks are what retrieval returns, sentences
are what an extractive answer quotes and cites.
"""

from __future__ import annotations

import re
from functools import lru_cache

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from vectorstore import Chunk, DocumentMeta, Sentence

# A sentence ends at . ! ? … (with closing quotes) before a space and a capital, digit or quote,
# or at a line break. Initials and common abbreviations do not end one.
_SENTENCE_END = re.compile(
    r"(?<!\b[A-Z])(?<!\bM)(?<!\bMM)(?<!\bMme)(?<!\bDr)(?<!\bSt)(?<!\betc)(?<!\bvs)"
    r"[.!?…]+[»\"”’)]*(?=\s+[«\"“(]?[A-ZÀ-ÖØ-Þ0-9«\"“-])"
)
_MIN_SENTENCE_CHARS = 3
_NON_BLANK = re.compile(r"\S")


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    return SentenceSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, chunking_tokenizer_fn=_sentences
    )


def _sentences(text: str) -> list[str]:
    """The splitter's sentences: cut where `sentence_spans` ends one, so that chunks end where
    the sentences they hold do. (llama-index's default, NLTK's Punkt, costs 1.7 s of imports
    and a third of the chunking, and cuts English-style.) The pieces put together are the text.
    """
    ends = [0, len(text)]
    for line in re.finditer(r"[^\n]+", text):
        ends += [line.start() + end.end() for end in _SENTENCE_END.finditer(line.group())]
        ends.append(line.end())
    # Each piece keeps the blanks after it, as Punkt's do.
    cuts = sorted({0} | {_after_blanks(text, end) for end in ends})
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def _after_blanks(text: str, at: int) -> int:
    found = _NON_BLANK.search(text, at)
    return found.start() if found else len(text)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a text; a line is never split across two sentences."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for end_match in _SENTENCE_END.finditer(line.group()):
            end = line.start() + end_match.end()
            spans.append((start, end))
            start = end
        spans.append((start, line.end()))
    return [(s + _lead(text, s, e), e) for s, e in spans if _is_sentence(text[s:e])]


def _is_sentence(text: str) -> bool:
    """Long enough, with a letter or a digit: "---|---|" and "…" are not sentences."""
    return len(text.strip()) >= _MIN_SENTENCE_CHARS and bool(re.search(r"\w", text))


def _lead(text: str, start: int, end: int) -> int:
    return len(text[start:end]) - len(text[start:end].lstrip())


def chunk_document(
    text: str, doc: DocumentMeta, chunk_size: int, chunk_overlap: int
) -> tuple[list[Chunk], list[Sentence]]:
    """Chunks of the clean text and the sentences of each chunk, with offsets into the text."""
    nodes = _splitter(chunk_size, chunk_overlap).get_nodes_from_documents(
        [Document(text=text, id_=doc.doc_id)]
    )
    spans = sentence_spans(text)
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    for index, node in enumerate(nodes):
        start, end = _node_span(text, node.get_content(), getattr(node, "start_char_idx", None))
        chunk = Chunk(
            id=f"{doc.doc_id}:{doc.content_hash[:12]}:{index}",
            doc=doc,
            text=text[start:end],
            start=start,
            end=end,
            index=index,
        )
        chunks.append(chunk)
        for k, (s, e, whole) in enumerate(_within(spans, start, end)):
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


def _node_span(text: str, content: str, hint: int | None) -> tuple[int, int]:
    """Where a node's text stands in the document (the parser's own offset when it is right)."""
    if hint is not None and text[hint : hint + len(content)] == content:
        return hint, hint + len(content)
    found = text.find(content, max(0, (hint or 0) - len(content)))
    if found < 0:
        found = text.find(content)
    if found < 0:  # pragma: no cover - SentenceSplitter keeps text verbatim
        raise ValueError("a chunk's text is not found in its document")
    return found, found + len(content)


def _within(spans: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int, bool]]:
    """The sentences overlapping [start, end), clipped to it, each marked whole or not.

    A piece cut by a chunk boundary still helps retrieval find the chunk, but is never quoted:
    the whole sentence stands in the neighbouring chunk, which the chunks' overlap provides.
    """
    pieces = (
        (max(s, start), min(e, end), start <= s and e <= end)
        for s, e in spans
        if s < end and e > start
    )
    return [(s, e, whole) for s, e, whole in pieces if e - s >= _MIN_SENTENCE_CHARS]
