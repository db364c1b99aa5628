from __future__ import annotations

import base64
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.services.retriever import HybridRetriever
from config import Settings
from ingest.__main__ import main
from ingest.pipeline import ingest_paths, pooled_chunk_vectors, prepare_version
from ingest.readers import read_document
from tests.conftest import ARTICLES
from vectorstore import ChromaStore, Embedder
from vectorstore.errors import OutdatedStore
from vectorstore.store import dequantise, quantise


def test_ingesting_twice_adds_nothing(
    store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    first = ingest_paths([ARTICLES], store, embedder, settings)
    count = store.count()
    second = ingest_paths([ARTICLES], store, embedder, settings)
    assert len(first.added) == 5 and first.chunks == count > 30
    assert second.unchanged == first.added and second.chunks == 0
    assert store.count() == count


def test_a_changed_file_replaces_its_old_chunks(
    tmp_path: Path, store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Le premier texte parle de pommes. " * 40, encoding="utf-8")
    ingest_paths([path], store, embedder, settings)
    old = {c.id for c in store.all_chunks()}
    path.write_text("Le second texte parle de poires. " * 10, encoding="utf-8")
    report = ingest_paths([path], store, embedder, settings)
    chunks = store.all_chunks()
    assert report.replaced == ["note"]
    assert not old & {c.id for c in chunks}
    assert all("poires" in c.text and "pommes" not in c.text for c in chunks)
    sentences, vectors = store.live_sentences({c.id: c for c in chunks})
    assert sentences and all("poires" in s.text for s in sentences)
    assert vectors.shape == (len(sentences), embedder.dimension)
    assert [d.chunks for d in store.documents()] == [len(chunks)]


def test_a_sentence_repeated_across_documents_is_embedded_once(
    tmp_path: Path, store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    embedded: list[str] = []

    class Counting:
        fingerprint, dimension = embedder.fingerprint, embedder.dimension

        def embed(self, texts: list[str]) -> np.ndarray:
            embedded.extend(texts)
            return embedder.embed(texts)

        embed_query = embed

    notice = "Cette traduction est une documentation libre."
    for name, fruit in (("a", "pommes"), ("b", "poires")):
        text = f"Titre\nUn texte sur les {fruit}. {notice}"
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    ingest_paths([tmp_path], store, Counting(), settings)
    assert embedded.count(notice) == 1
    sentences, vectors = store.live_sentences({c.id: c for c in store.all_chunks()})
    repeated = [v for s, v in zip(sentences, vectors, strict=True) if s.text == notice]
    assert len(repeated) == 2
    np.testing.assert_array_equal(repeated[0], repeated[1])
    assert float(repeated[0] @ embedder.embed([notice])[0]) > 0.999  # stored in int8


def test_unreadable_files_are_skipped_and_the_rest_goes_on(
    tmp_path: Path, store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    shutil.copy(next(ARTICLES.glob("001_*.txt")), tmp_path)
    (tmp_path / "broken.txt").write_bytes(b"caf\xe9 " + bytes(range(1, 32)) * 3)
    (tmp_path / "latin.txt").write_bytes(
        "Le café crème de l’Élysée.".replace("’", "'").encode("cp1252")
    )
    report = ingest_paths([tmp_path], store, embedder, settings)
    assert report.added == ["001_d494c912059ead2f", "latin"]
    assert [c.text for c in store.all_chunks() if c.doc_id == "latin"] == [
        "Le café crème de l'Élysée."
    ]
    assert len(report.skipped) == 1 and "broken.txt: not valid UTF-8" in report.skipped[0][1]


def test_no_chunk_holds_the_noise_of_the_scraped_pages(
    sample_settings: Settings, embedder: Embedder
) -> None:
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    texts = [c.text for c in store.all_chunks()]
    for noise in (
        "Assurance-vie luxembourgeoise",
        "Abonnez-vous",
        "Partager cet article",
        "Lire aussi",
        "Retour de ping",
        "Simseo",
        "You've been subscribed",
    ):
        assert not any(noise in t for t in texts), noise


def test_cli_ingests_and_summarises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHROMA_PATH", str(tmp_path / "chroma"))
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    assert main(["--quiet", str(ARTICLES)]) == 0
    assert main(["--quiet", str(ARTICLES), str(tmp_path / "missing.txt")]) == 0
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert lines[0].startswith("ingest: 5 documents (5 added, 0 replaced, 0 unchanged, 0 skipped)")
    assert lines[1].startswith(
        "ingest: 5 documents (0 added, 0 replaced, 5 unchanged, 1 skipped), 0 chunks written"
    )
    assert "missing.txt: no such file or folder" in out.err


def test_cli_rejects_bad_settings_with_a_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHUNK_SIZE", "100")
    monkeypatch.setenv("CHUNK_OVERLAP", "150")
    assert main(["--quiet"]) == 2
    assert "CHUNK_OVERLAP (150) must be smaller than CHUNK_SIZE (100)" in capsys.readouterr().err


def test_chunk_vectors_pool_their_sentences_and_stay_close_to_the_chunk_text(
    sample_settings: Settings, embedder: Embedder
) -> None:
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    chunks, vectors = store.live_chunks()
    sentences, sentence_vectors = store.live_sentences({c.id: c for c in chunks})
    # Pooled from the float32 sentence vectors at ingest; stored sentence vectors are int8.
    pooled = pooled_chunk_vectors(chunks, sentences, sentence_vectors)
    assert np.sum(vectors * pooled, axis=1).min() > 0.999
    whole_text = embedder.embed([c.text for c in chunks])
    cosines = np.sum(vectors * whole_text, axis=1)
    assert cosines.min() > 0.6 and np.median(cosines) > 0.75


def test_stored_sentences_read_back_as_written(
    tmp_path: Path, store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    path = tmp_path / "note.txt"
    long_sentence = "Une phrase " + "sur les pommes de Normandie et leurs vergers " * 40 + ". "
    path.write_text("Titre\n" + long_sentence * 8, encoding="utf-8")
    raw = read_document(path)
    version = prepare_version(raw, embedder, settings)
    assert not isinstance(version, str)
    ingest_paths([path], store, embedder, settings)
    read, vectors = store.live_sentences({c.id: c for c in store.all_chunks()})
    by_id = {s.id: (s, v) for s, v in zip(read, vectors, strict=True)}
    assert set(by_id) == {s.id for s in version.sentences}
    assert any(not s.whole for s in version.sentences)  # pieces cut at chunk boundaries too
    for written, vector in zip(version.sentences, version.sentence_vectors, strict=True):
        got, got_vector = by_id[written.id]
        assert got == written
        # Stored in one byte per dimension: exactly what quantising the vector gives.
        np.testing.assert_allclose(got_vector, dequantise(quantise(vector[None]))[0], atol=1e-6)
        assert float(got_vector @ vector) > 0.999


def test_sentence_vectors_stored_as_float32_by_an_older_ingester_are_still_read(
    tmp_path: Path, store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Titre\nUne phrase sur les pommes. Une autre sur les poires.", encoding="utf-8")
    ingest_paths([path], store, embedder, settings)
    (chunk,) = store.all_chunks()
    sentences, _ = store.live_sentences({chunk.id: chunk})
    exact = embedder.embed([s.text for s in sentences])
    collection = store._cols.chunks
    meta = collection.get(ids=[chunk.id], include=["metadatas"])["metadatas"][0]
    meta["sentence_vectors_i8"] = None  # removes the key
    meta["sentence_vectors"] = base64.b64encode(exact.astype("<f4").tobytes()).decode()
    collection.update(ids=[chunk.id], metadatas=[meta])
    again, vectors = store.live_sentences({chunk.id: chunk})
    assert again == sentences and len(sentences) == 3
    np.testing.assert_array_equal(vectors, exact)


def test_a_store_in_an_older_format_asks_for_a_new_ingest(
    tmp_path: Path, store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Titre\nUne phrase sur les pommes. Une autre sur les poires.", encoding="utf-8")
    ingest_paths([path], store, embedder, settings)
    chunks = store._cols.chunks
    first = chunks.get(limit=1)["ids"]
    # Older ingesters kept sentences in a collection of their own, none in the chunk records.
    chunks.update(ids=first, metadatas=[{"sentence_spans": None, "sentence_vectors": None}])
    with pytest.raises(OutdatedStore, match="python -m ingest"):
        HybridRetriever(store, embedder, settings)


def test_an_ingest_removes_the_sentence_collection_of_older_ingesters(
    tmp_path: Path, store: ChromaStore, embedder: Embedder, settings: Settings
) -> None:
    client = store._client
    client.create_collection("articles-sentences", embedding_function=None)
    path = tmp_path / "note.txt"
    path.write_text("Titre\nUne phrase sur les pommes.", encoding="utf-8")
    ingest_paths([path], store, embedder, settings)
    assert {c.name for c in client.list_collections()} == {"articles", "articles-manifest"}
