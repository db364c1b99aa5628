from __future__ import annotations

import itertools

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from ingest.chunking import PUNKT_BLOCK_CHARS, _blocks, _within, chunk_document, sentence_spans
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


def test_two_sentences_glued_by_a_scrape_are_split_and_dotted_names_are_not() -> None:
    text = (
        "Les deux rivaux ralentissent les avancées technologiques.Selon certaines sources, "
        "G42 investirait. Le site tourne sous Node.js et ASP.NET chez e.Leclerc depuis 2.Alors"
    )
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Les deux rivaux ralentissent les avancées technologiques.",
        "Selon certaines sources, G42 investirait.",
        "Le site tourne sous Node.js et ASP.NET chez e.Leclerc depuis 2.Alors",
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

        # A sentence cut at a chunk boundary is marked, and stands whole in another chunk;
        # one that loses only a quotation mark to the boundary is whole.
        whole = {_bare(doc.text, *span) for span in sentence_spans(doc.text)}
        assert all((_bare(doc.text, s.start, s.end) in whole) == s.whole for s in sentences)
        assert {_bare(doc.text, s.start, s.end) for s in sentences if s.whole} == whole
        spans = {c.id: (c.start, c.end) for c in chunks}
        assert all(
            spans[s.chunk_id][0] <= s.start < s.end <= spans[s.chunk_id][1] for s in sentences
        )
        # Every character of the text but the white space between chunks is in some chunk.
        covered = sorted((c.start, c.end) for c in chunks)
        assert covered[0][0] == 0 and covered[-1][1] == len(doc.text)
        assert all(not doc.text[a[1] : b[0]].strip() for a, b in itertools.pairwise(covered))


def _bare(text: str, start: int, end: int) -> str:
    return text[start:end].strip(" \t\n«»“”\"'")


def test_a_sentence_that_loses_only_its_quotation_mark_to_a_boundary_is_whole() -> None:
    text = "Il a parlé.\n« Grâce à l’IA, tout ira vite. »\nUne fin qui est coupée ici."
    spans = sentence_spans(text)
    start = text.index("Grâce")
    end = text.index("coupée")
    pieces = [
        (text[s:e], whole)
        for s, e, whole in _within(text, spans, [e for _, e in spans], start, end)
    ]
    assert pieces == [("Grâce à l’IA, tout ira vite. »", True), ("Une fin qui est ", False)]


def test_chunks_stand_where_llama_index_nodes_stand() -> None:
    splitter = SentenceSplitter(chunk_size=200, chunk_overlap=40)
    meta = DocumentMeta(doc_id="a", title="", source="a.txt", content_hash="0123456789abcdef")
    for path in sorted(ARTICLES.glob("*.txt")):
        text = clean(path.read_text(encoding="utf-8")).text + "\nUne ligne répétée.\n" * 30
        nodes = splitter.get_nodes_from_documents([Document(text=text, id_="a")])
        chunks, _ = chunk_document(text, meta, chunk_size=200, chunk_overlap=40)
        assert [(c.start, c.end) for c in chunks] == [
            (n.start_char_idx, n.end_char_idx) for n in nodes
        ]


def test_a_two_megabyte_paragraph_is_read_in_bounded_blocks() -> None:
    """NLTK's Punkt read a 1.9 MB paragraph in one regular-expression pass, which ran past its
    5 s guard on a busy machine and failed the upload: it reads 20,000 characters at most."""
    prose = " ".join(f"La phrase {i} parle du pont de Kerlouan." for i in range(50_000))
    blocks = _blocks(prose)
    assert "".join(blocks) == prose and len(blocks) > 50
    assert max(len(b) for b in blocks) <= PUNKT_BLOCK_CHARS
    doc = DocumentMeta("big", "big", "big.txt", content_hash="0" * 16)
    chunks, sentences = chunk_document(prose, doc, 200, 40)
    assert all(s.whole for s in sentences) and len({s.text for s in sentences}) == 50_000
