"""Date, source and document filters on /search and /ask, over the sample and dated pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from app.services.filters import DocumentFilter
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLES, make_settings
from vectorstore import ChromaStore, Embedder
from vectorstore.lexical import IndexedVersion, LexicalIndex
from vectorstore.records import Chunk, DocumentMeta

FIELD = Path(__file__).parent / "field"
MUSK = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"  # 001, 2025-04
ALTMAN = "Quel montant Sam Altman a-t-il annoncé donner au fonds d'inauguration de Donald Trump ?"
COURRIER = """<html><head><title>Le pont de Sainte-Aude rouvre</title>
<meta property="og:site_name" content="Le Courrier du Sud">
<meta property="article:published_time" content="2025-05-02T08:00:00+02:00"></head>
<body><article><h1>Le pont de Sainte-Aude rouvre</h1>
<p>Fermé depuis janvier, le pont de Sainte-Aude rouvre à la circulation ce vendredi.</p>
<p>Les travaux de consolidation ont coûté 2,4 millions d'euros, selon la mairie.</p>
</article></body></html>"""


@pytest.fixture(scope="module", params=["memory", "store"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[TestClient]:
    """The sample (one article dated 2025-04, four undated) and three dated pages: F09
    (2025-04-06), F11 (2025-03-21) and a page of « Le Courrier du Sud » (2025-05-02); served
    from memory and from the store (a filter applies inside both retrieval modes)."""
    tmp = tmp_path_factory.mktemp("filters")
    (tmp / "courrier_pont.html").write_text(COURRIER, encoding="utf-8")
    settings = make_settings(tmp, retrieval_mode=request.param)
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    paths = [
        ARTICLES,
        FIELD / "f09_marathon_lunel.html",
        FIELD / "f11_velo_rennes_frontmatter.md",
        tmp / "courrier_pont.html",
    ]
    report = ingest_paths(paths, store, embedder, settings)
    assert report.documents == 8 and not report.skipped
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def dates_of(client: TestClient) -> dict[str, str]:
    return {d["doc_id"]: d["date"] for d in client.get("/documents").json()["documents"]}


def test_dates_are_iso_from_text_html_and_front_matter(client: TestClient) -> None:
    dates = dates_of(client)
    assert dates["001_d494c912059ead2f"] == "2025-04"  # "date 2025-04" in the scraped text
    assert dates["f09_marathon_lunel"] == "2025-04-06"  # the page's metadata
    assert dates["f11_velo_rennes_frontmatter"] == "2025-03-21"  # front matter
    assert dates["courrier_pont"] == "2025-05-02"  # article:published_time, with its hour
    assert sum(not d for d in dates.values()) == 4  # the undated sample articles


def test_search_in_a_period_returns_only_articles_of_that_period(client: TestClient) -> None:
    april = {"date_from": "2025-04-01", "date_to": "2025-04-30"}
    body = {"query": "Musk OpenAI marathon record pont vélos", "top_k": 20, "filters": april}
    results = client.post("/search", json=body).json()["results"]
    assert {r["doc_id"] for r in results} == {"001_d494c912059ead2f", "f09_marathon_lunel"}
    unfiltered = client.post("/search", json={**body, "filters": None}).json()["results"]
    assert len({r["doc_id"] for r in unfiltered}) > 2


def test_ask_answers_only_from_articles_in_the_range(client: TestClient) -> None:
    april = client.post(
        "/ask", json={"question": MUSK, "filters": {"date_from": "2025-04-01"}}
    ).json()
    assert not april["abstained"] and "97 milliards" in april["answer"]
    assert {c["doc_id"] for c in april["citations"]} == {"001_d494c912059ead2f"}
    march = client.post("/ask", json={"question": MUSK, "filters": {"date_to": "2025-03-31"}})
    assert march.json()["abstained"] and not march.json()["citations"]


def test_an_undated_article_is_left_out_by_a_date_filter(client: TestClient) -> None:
    assert not client.post("/ask", json={"question": ALTMAN}).json()["abstained"]
    dated = client.post("/ask", json={"question": ALTMAN, "filters": {"date_from": "2000-01-01"}})
    assert dated.json()["abstained"]


def test_sources_match_a_site_name_without_case_and_doc_ids_name_documents(
    client: TestClient,
) -> None:
    query = {"query": "travaux coût millions d'euros", "top_k": 20}
    site = client.post("/search", json={**query, "filters": {"sources": ["le courrier du sud"]}})
    assert {r["doc_id"] for r in site.json()["results"]} == {"courrier_pont"}
    by_file = client.post(
        "/search", json={**query, "filters": {"sources": ["f09_marathon_lunel.html"]}}
    )
    assert {r["doc_id"] for r in by_file.json()["results"]} == {"f09_marathon_lunel"}
    ids = ["000_cbe65e37a9e86eda", "courrier_pont"]
    both = client.post("/search", json={**query, "filters": {"doc_ids": ids}})
    assert {r["doc_id"] for r in both.json()["results"]} == set(ids)
    # Parts combine with AND: the Courrier's page is not in April.
    none = {"sources": ["Le Courrier du Sud"], "date_to": "2025-04-30"}
    assert client.post("/search", json={**query, "filters": none}).json()["results"] == []


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"date_from": "2025-4-1"}, "filters.date_from"),
        ({"date_from": "01/04/2025"}, "filters.date_from"),
        ({"date_to": "2025-02-30"}, "filters.date_to"),
        ({"date_from": "2025-04-10", "date_to": "2025-04-01"}, "filters.date_to"),
        ({"sources": "Le Monde"}, "filters.sources"),
        ({"sources": [" "]}, "filters.sources"),
        ({"doc_ids": [3]}, "filters.doc_ids.0"),
        ({"date_form": "2025-04-01"}, "filters.date_form"),
        ("april", "filters"),
    ],
)
def test_a_malformed_filter_is_a_422_naming_the_field(
    client: TestClient, filters: object, field: str
) -> None:
    for path, body in [("/search", {"query": "Musk"}), ("/ask", {"question": MUSK})]:
        response = client.post(path, json={**body, "filters": filters})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"] == "ValidationError"
        assert response.json()["message"].startswith(f"{field}:"), response.json()


def doc(date_: str = "", **fields: object) -> DocumentMeta:
    return DocumentMeta(
        doc_id="d", title="t", source=str(fields.pop("source", "d.txt")), date=date_, **fields
    )  # type: ignore[arg-type]


def test_a_month_or_year_date_matches_a_range_touching_it() -> None:
    in_april = DocumentFilter.of(date(2025, 4, 30), date(2025, 5, 3))
    assert in_april is not None
    assert in_april.allows(doc("2025-04")) and in_april.allows(doc("2025"))
    assert in_april.allows(doc("2025-05-03")) and not in_april.allows(doc("2025-05-04"))
    assert not in_april.allows(doc("2025-03")) and not in_april.allows(doc(""))
    assert not in_april.allows(doc("not a date"))
    assert DocumentFilter.of(None, None, [], []) is None  # nothing to apply


def test_a_source_url_matches_by_its_host() -> None:
    page = doc("", source="https://www.lemonde.fr/economie/article/2025/04/02/x.html")
    for name in ("lemonde.fr", "WWW.LEMONDE.FR", page.source):
        found = DocumentFilter.of(sources=[name])
        assert found is not None and found.allows(page)
    assert not DocumentFilter.of(sources=["monde.fr"]).allows(page)  # type: ignore[union-attr]


def test_the_lexical_index_allows_exactly_the_documents_a_filter_allows(tmp_path: Path) -> None:
    """The store mode's SQL form of a filter (`DocumentFilter.condition`) against `allows`,
    over documents with day, month, year and no dates, and several kinds of names."""
    documents = [
        DocumentMeta("a", "A", "https://www.lemonde.fr/a.html", "2025-04-06", content_hash="1"),
        DocumentMeta("b", "B", "b.txt", "2025-04", ("AFP",), content_hash="2"),
        DocumentMeta("c", "C", "c.md", "2024", site="Le Courrier du Sud", content_hash="3"),
        DocumentMeta("d", "D", "d.txt", "", ("Reuters",), content_hash="4"),
        DocumentMeta("e", "E", "e.txt", "2025-03-31", site="Ouest-France", content_hash="5"),
    ]
    index = LexicalIndex(tmp_path / "lexical.sqlite")
    index.add(
        IndexedVersion(doc, [Chunk(f"{doc.doc_id}:x:0", doc, "texte", 0, 5, 0)])
        for doc in documents
    )
    filters = [
        DocumentFilter.of(date_from=date(2025, 4, 1)),
        DocumentFilter.of(date_to=date(2025, 3, 31)),
        DocumentFilter.of(date_from=date(2024, 6, 1), date_to=date(2025, 4, 3)),
        DocumentFilter.of(sources=["lemonde.fr", "afp"]),
        DocumentFilter.of(sources=["LE COURRIER DU SUD"], date_to=date(2024, 12, 31)),
        DocumentFilter.of(doc_ids=["a", "d", "zz"], sources=["reuters"]),
        DocumentFilter.of(sources=["www.lemonde.fr"], doc_ids=["a"], date_from=date(2025, 4, 6)),
    ]
    for document_filter in filters:
        assert document_filter is not None
        expected = {d.doc_id for d in documents if document_filter.allows(d)}
        condition = document_filter.condition()
        assert set(index.allowed_doc_ids(condition, 100) or ()) == expected, document_filter
        assert index.allowed_among("abcdez", condition) == expected
        found = {chunk.split(":")[0] for chunk, _ in index.top("texte", 10, condition)}
        assert found == expected
    dated = DocumentFilter(date_from=date(2000, 1, 1))  # a, b, c, e: more than 2
    assert index.allowed_doc_ids(dated.condition(), 2) is None
