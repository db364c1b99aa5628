from __future__ import annotations

import itertools
import subprocess
import sys

from ingest.chunking import chunk_document, sentence_spans
from ingest.cleaning import clean
from tests.conftest import ARTICLES
from vectorstore import DocumentMeta


def test_sentences_split_on_end_marks_not_on_initials_or_abbreviations() -> None:
    text = "M. Dupont a parlé. Il a dit « oui ». J. R. R. Tolkien aussi !\nUn titre"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "M. Dupont a parlé.",
        "Il a dit « oui ».",
        "J. R. R. Tolkien aussi !",
        "Un titre",
    ]


def test_chunks_and_sentences_carry_exact_offsets_into_the_clean_text() -> None:
    for path in sorted(ARTICLES.glob("*.txt")):
        doc = clean(path.read_text(encoding="utf-8"))
        meta = DocumentMeta(
            doc_id=path.stem, title=doc.title, source=path.name, content_hash="0123456789abcdef"
        )
        chunks, sentences = chunk_document(doc.text, meta, chunk_size=200, chunk_overlap=40)
        assert len(chunks) >= 5
        assert all(doc.text[c.start : c.end] == c.text for c in chunks)
        assert all(doc.text[s.start : s.end] == s.text for s in sentences)
        # A sentence cut at a chunk boundary is marked, and stands whole in another chunk.
        whole = set(sentence_spans(doc.text))
        assert all(((s.start, s.end) in whole) == s.whole for s in sentences)
        assert {(s.start, s.end) for s in sentences if s.whole} == whole
        spans = {c.id: (c.start, c.end) for c in chunks}
        assert all(
            spans[s.chunk_id][0] <= s.start < s.end <= spans[s.chunk_id][1] for s in sentences
        )
        # Every character of the text but the white space between chunks is in some chunk.
        covered = sorted((c.start, c.end) for c in chunks)
        assert covered[0][0] == 0 and covered[-1][1] == len(doc.text)
        assert all(not doc.text[a[1] : b[0]].strip() for a, b in itertools.pairwise(covered))


def test_chunks_end_where_sentences_end_without_loading_nltk() -> None:
    text = clean((ARTICLES / sorted(p.name for p in ARTICLES.glob("*.txt"))[0]).read_text()).text
    meta = DocumentMeta(doc_id="a", title="", source="a.txt", content_hash="0123456789abcdef")
    chunks, sentences = chunk_document(text, meta, chunk_size=200, chunk_overlap=40)
    ends = {e for _, e in sentence_spans(text)}
    assert len(chunks) >= 5 and all(c.end in ends for c in chunks)
    assert all(s.whole for s in sentences)  # no sentence is cut by a chunk's boundary


def test_chunking_does_not_load_nltk() -> None:
    """NLTK's Punkt, llama-index's default sentence tokenizer, costs 1.7 s of imports."""
    script = (
        "import sys; from ingest.chunking import chunk_document; from vectorstore import "
        "DocumentMeta; chunk_document('Une phrase. ' * 300, DocumentMeta('a', '', 'a.txt'), "
        "200, 40); print('nltk' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
