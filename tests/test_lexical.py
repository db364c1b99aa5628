"""The store mode's lexical index on its own: BM25 order, common terms, versions and removal."""

from __future__ import annotations

import time
from pathlib import Path

from vectorstore.lexical import _KNOWN_SECONDS, COMMON_FLOOR, IndexedVersion, LexicalIndex
from vectorstore.records import Chunk, DocumentMeta, chunk_id


def version(doc_id: str, content_hash: str, texts: list[str]) -> IndexedVersion:
    doc = DocumentMeta(doc_id, doc_id, f"{doc_id}.txt", content_hash=content_hash)
    chunks = [
        Chunk(chunk_id(doc_id, content_hash, i), doc, text, 0, len(text), i)
        for i, text in enumerate(texts)
    ]
    return IndexedVersion(doc, chunks)


def test_bm25_ranks_by_rare_terms_and_leaves_out_a_term_most_chunks_hold(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "index.sqlite")
    filler = [f"Le journal publie l'article numéro {i} du jour." for i in range(COMMON_FLOOR * 2)]
    index.add([version("bulk", "h1", filler)])
    index.add([version("pont", "h2", ["Le journal annonce la réouverture du pont de Loue."])])
    index.add([version("loue", "h3", ["La Loue déborde, dit le journal, et la Loue monte."])])
    assert index.frequencies(["journal", "loue", "absent"]) == {
        "journal": COMMON_FLOOR * 2 + 2,
        "loue": 2,
    }
    found = index.top("journal Loue", 10)
    # "journal" is in every chunk: left out, so only the chunks about the Loue rank, the one
    # saying it twice first (Okapi BM25).
    assert [c.split(":")[0] for c, _ in found] == ["loue", "pont"]
    assert found[0][1] > found[1][1] > 0
    assert len(index.top("journal", 10)) == 10  # alone, a common term still ranks
    assert index.top("", 10) == [] and index.top("absent", 10) == []


def test_versions_are_removed_whole_and_a_recent_one_can_be_spared(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "index.sqlite")
    index.add([version("note", "old", ["pommes normandes"]), version("autre", "a", ["cidre"])])
    before_new = time.time()
    index.add([version("note", "new", ["poires bretonnes"])])
    index.add([version("note", "new", ["poires bretonnes"])])  # indexed already: skipped
    assert index.versions() == {"note": {"old", "new"}, "autre": {"a"}}
    assert {c for c, _ in index.top("pommes poires", 5)} == {"note:old:0", "note:new:0"}
    index.remove_stale({"note": "old"}, before=before_new)  # "new" was indexed after: spared
    assert index.versions()["note"] == {"old", "new"}
    index.remove_stale({"note": "new"})
    assert index.versions()["note"] == {"new"}
    assert [c for c, _ in index.top("pommes poires", 5)] == ["note:new:0"]
    index.remove(["note"])
    assert index.versions() == {"autre": {"a"}} and index.top("poires", 5) == []
    assert index.counts() == (1, 1)


def test_a_known_terms_count_is_kept_and_a_new_term_is_read_at_once(tmp_path: Path) -> None:
    """Counting a term's chunks walks its postings: a known term's count is kept for a while
    (`_KNOWN_SECONDS`), and a term no chunk held is read each time, so that another writer's
    new words (an upload to another worker of the host) rank at once."""
    index = LexicalIndex(tmp_path / "index.sqlite")
    writer = LexicalIndex(tmp_path / "index.sqlite")  # another process's connection, say
    writer.add([version("a", "h1", ["cidre normand"])])
    assert index.frequencies(["cidre", "verger"]) == {"cidre": 1}
    assert writer.frequencies(["cidre"]) == {"cidre": 1}
    writer.add([version("b", "h2", ["cidre et verger breton"])])
    assert index.frequencies(["cidre", "verger"]) == {"cidre": 1, "verger": 1}  # kept, read
    assert [c for c, _ in index.top("verger", 5)] == ["b:h2:0"]
    assert LexicalIndex(tmp_path / "index.sqlite").frequencies(["cidre"]) == {"cidre": 2}
    assert writer.frequencies(["cidre"]) == {"cidre": 2}  # after its own write, read again
    index._known["cidre"] = (1, time.monotonic() - _KNOWN_SECONDS - 1)  # as if read long ago
    assert index.frequencies(["cidre"]) == {"cidre": 2}
