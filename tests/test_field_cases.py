"""Scraped news as it really comes (field cases F04, F05, F09, F10, F11, F16, F19, and
near-duplicate and Unicode kinds), uploaded and asked through the REST API as a newcomer would.

The answers here come from the extractive backend (instant, no model); the same cases with the
bundled reader are in tests/test_reader.py. Each test names its case and asserts its right value
from ../shared/field/CASES.md.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLES, make_settings
from tests.service import running_service
from vectorstore import ChromaStore, Embedder

FIELD = Path(__file__).parent / "field"
UPLOADS = [
    ("f04_piscine_sarvieux.txt", "f04_piscine_sarvieux.txt"),
    ("f04_piscine_sarvieux.txt", "f04_piscine_sarvieux_copie.txt"),
    ("f05_marche_noel_cp1252.txt", "f05_marche_noel_cp1252.txt"),
    ("f09_marathon_lunel.html", "f09_marathon_lunel.html"),
    ("f10_resultats_municipales.html", "f10_resultats_municipales.html"),
    ("f11_velo_rennes_frontmatter.md", "f11_velo_rennes_frontmatter.md"),
]


def upload(client: TestClient, name: str, data: bytes) -> dict[str, Any]:
    response = client.post("/documents", files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    """The sample, then each field file uploaded through the API."""
    settings = make_settings(tmp_path_factory.mktemp("field"))
    ingest_paths([ARTICLES], ChromaStore.from_settings(settings, embedder.fingerprint), embedder,
                 settings)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        for source, name in UPLOADS:
            upload(client, name, (FIELD / source).read_bytes())
        yield client


def ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def passages(client: TestClient, query: str, top_k: int = 5) -> list[dict[str, Any]]:
    response = client.post("/search", json={"query": query, "top_k": top_k})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_f04_the_same_article_under_two_names_is_cited_once(api: TestClient) -> None:
    body = ask(api, "Combien coûteront les travaux de la piscine de Sarvieux ?")
    texts = [c["text"] for c in body["citations"]]
    assert any("27 millions" in t for t in texts), body["answer"]
    assert len(texts) == len(set(texts)) and body["answer"].count("27 millions") == 1
    top = [p["text"] for p in passages(api, "piscine olympique de Sarvieux travaux")]
    assert len(top) == 5 and len(set(top)) == 5


def test_f05_a_windows_1252_page_is_stored_as_clean_unicode_and_answered(
    api: TestClient,
) -> None:
    doc = api.get("/documents/f05_marche_noel_cp1252").json()
    assert doc["title"] == "Le marché de Noël de Saint-Aubrac bat un record"
    assert doc["date"] == "2024-12-20"
    body = ask(api, "Combien coûtait le gobelet de vin chaud au marché de Noël de Saint-Aubrac ?")
    assert "4 € le gobelet" in body["answer"] and not body["abstained"]
    found = passages(api, "œuvres d’artisans locaux du marché de Noël")
    assert any("d’œuvres d’artisans" in p["text"] for p in found)


def test_f09_the_headline_is_the_title_and_the_banners_are_not_indexed(api: TestClient) -> None:
    doc = api.get("/documents/f09_marathon_lunel").json()
    assert doc["title"] == "Marathon de Lunel-Viel : le record de l'épreuve battu"
    assert doc["date"] == "2025-04-06"
    found = passages(api, "cookies publicités abonnez-vous premier mois", top_k=10)
    assert not any("cookies" in p["text"] or "Abonnez" in p["text"] for p in found)
    assert ask(api, "Le site utilise-t-il des cookies pour les publicités ?")["abstained"]


def test_f10_a_table_row_keeps_its_cells_apart_and_is_cited(api: TestClient) -> None:
    body = ask(api, "Combien de voix a obtenu la liste Agir pour Castelmoron ?")
    rows = [c["text"] for c in body["citations"] if "Agir pour Castelmoron" in c["text"]]
    assert rows and "Voix: 2073" in rows[0], body["answer"]
    assert not any("207348,7" in p["text"] for p in passages(api, "Agir pour Castelmoron voix"))


def test_f11_front_matter_is_metadata_not_text(api: TestClient) -> None:
    doc = api.get("/documents/f11_velo_rennes_frontmatter").json()
    assert doc["title"] == "Vélos en libre-service : Rennes double sa flotte"
    assert (doc["date"], doc["author"]) == ("2025-03-21", "Rédaction Ouest-Express")
    assert doc["tags"] == ["mobilité", "vélo", "Rennes", "transports"]
    found = passages(api, "tags mobilité vélo Rennes transports canonical_url", top_k=10)
    own = [p["text"] for p in found if p["doc_id"] == "f11_velo_rennes_frontmatter"]
    assert own and not any(m in t for t in own for m in ("tags:", "---", "**", "canonical"))
    body = ask(api, "Combien coûte le contrat des vélos en libre-service de Rennes ?")
    assert "14 millions d'euros" in body["answer"]
    author = ask(api, "Qui est l'auteur de l'article sur les vélos de Rennes ?")
    assert "tags" not in author["answer"] and "mobilité" not in author["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "Combien de salariés travaillaient à l'usine d'Hérouville-les-Forges avant sa fermeture ?",
        "How many employees worked at the Hérouville-les-Forges factory before it closed?",
        "Combien de salariés l'usine d'Hérouville-les-Forges employait-elle ?",
    ],
)
def test_f19_future_hires_do_not_answer_for_the_workforce_of_the_past(
    api: TestClient, question: str
) -> None:
    """F19: the article gives the jobs a buyer plans ("prévoit d'y embaucher 340 salariés d'ici
    2026"), not how many worked there before; its question about the plan is answered."""
    doc = upload(api, "f07_usine_herouville.txt", (FIELD / "f07_usine_herouville.txt").read_bytes())
    try:
        body = ask(api, question)
        assert body["abstained"] and body["citations"] == [], body["answer"]
        plan = ask(api, "Combien de salariés Ardelis prévoit-elle d'embaucher à Hérouville ?")
        assert not plan["abstained"] and "340" in plan["answer"], plan["answer"]
    finally:
        api.delete(f"/documents/{doc['doc_id']}")


def test_near_duplicates_never_fill_a_top_k(tmp_path: Path, embedder: Embedder) -> None:
    """One article repeating a paragraph 150 times, another with a unique fact on the same
    subject: the unique fact stays in the top 5."""
    folder = tmp_path / "docs"
    folder.mkdir()
    paragraph = (
        "Le conseil départemental a confirmé jeudi le calendrier des travaux du pont de "
        "Kerlouan. Les automobilistes devront emprunter une déviation pendant six mois."
    )
    (folder / "repete.txt").write_text(
        "Le pont de Kerlouan en travaux\n" + "\n\n".join([paragraph] * 150), encoding="utf-8"
    )
    (folder / "unique.txt").write_text(
        "Un péage sur le pont de Kerlouan\nAprès les travaux, le passage du pont de Kerlouan "
        "coûtera 3 euros aux automobilistes, a annoncé le département.\n",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path)
    ingest_paths([folder], ChromaStore.from_settings(settings, embedder.fingerprint), embedder,
                 settings)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        found = passages(client, "travaux du pont de Kerlouan pour les automobilistes")
        assert "unique" in [p["doc_id"] for p in found]
        assert sum(p["doc_id"] == "repete" for p in found) <= 2


def test_names_and_questions_compare_equal_whatever_their_form(api: TestClient) -> None:
    nfd = unicodedata.normalize("NFD", "Été à l’écluse.txt")
    first = upload(api, nfd, "L’écluse de Brest\nL’écluse ouvrira le 3 mai.\n".encode())
    text = "L’écluse de Brest\nL’écluse ouvrira le 4 mai.\n"
    again = upload(api, "Été à l'écluse.txt", text.encode())
    assert first["doc_id"] == again["doc_id"] and again["status"] == "replaced"
    question = "Quand l’écluse de Brest ouvrira-t-elle ?"
    expected = ask(api, question)
    assert "4 mai" in expected["answer"]
    for variant in (unicodedata.normalize("NFD", question), question.replace("’", "\u02bc")):
        body = ask(api, variant)
        assert body["citations"] == expected["citations"] and body["answer"] == expected["answer"]
    api.delete(f"/documents/{first['doc_id']}")


def one_line_article(folder: Path) -> Path:
    """F16's 1.7 MB line, written by the case's own script (tests/field/make_one_line.py)."""
    script = folder / "make_one_line.py"
    script.write_bytes((FIELD / "make_one_line.py").read_bytes())
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True)
    return folder / "f16_une_ligne_sans_ponctuation.txt"


def test_f16_a_fact_at_the_end_of_a_huge_line_is_answerable_and_the_upload_stalls_nothing(
    tmp_path: Path,
) -> None:
    """The line is cut into sentences of bounded size; while it is embedded (tens of seconds
    on two cores), questions to the same service keep being answered."""
    article = one_line_article(tmp_path)
    with running_service(tmp_path, [ARTICLES]) as service:
        answered: list[tuple[float, int]] = []  # (when, status) of each /search
        done = threading.Event()

        def keep_asking() -> None:
            # A new question each time: a repeated one is answered from the query cache and
            # would never wait for the embedder.
            with httpx.Client(base_url=service.url, timeout=120) as client:
                while not done.is_set():
                    query = f"piscine de Sarvieux, question {len(answered)}"
                    r = client.post("/search", json={"query": query, "top_k": 3})
                    answered.append((time.monotonic(), r.status_code))

        with httpx.Client(base_url=service.url, timeout=600) as client:
            asker = threading.Thread(target=keep_asking)
            asker.start()
            time.sleep(0.5)
            started = time.monotonic()
            try:
                response = client.post(
                    "/documents", files={"file": (article.name, article.read_bytes(), "text/plain")}
                )
            finally:
                ended = time.monotonic()
                done.set()
                asker.join()
            assert response.status_code == 201, response.text
            assert response.json()["chunks"] > 1000
            assert {status for _, status in answered} == {200}
            # No wait between two answers takes a quarter of the upload (while the whole
            # document was embedded in one call, one wait took three quarters of it).
            times = [started] + [t for t, _ in answered if started < t < ended] + [ended]
            longest = max(b - a for a, b in itertools.pairwise(times))
            assert longest < 0.25 * (ended - started), (longest, ended - started)
            body = client.post(
                "/ask", json={"question": "Combien coûte le péage du pont de Kerlouan ?"}
            ).json()
            client.delete("/documents/f16_une_ligne_sans_ponctuation")
    assert not body["abstained"] and "coûte 3 euros" in body["answer"], body["answer"]
    assert all(c["doc_id"] == "f16_une_ligne_sans_ponctuation" for c in body["citations"])
    # The clause that answers is quoted and cited, not the 400 characters of codes before it.
    assert re.search(r"« … [^«»]{0,20}le péage du pont de Kerlouan coûte 3 euros »", body["answer"])
    assert [len(c["text"]) < 60 for c in body["citations"]] == [True], body["citations"]
    assert "9,6 millions" not in body["answer"]


def test_f23_the_answer_quotes_the_sentence_without_its_emoji_or_footnote_call(
    tmp_path: Path,
) -> None:
    """The cited sentence opens with "🎉" and ends with a footnote call, "[1]": the quotation
    leaves both out, the citation keeps the sentence as the article has it (its offsets are
    the widget's, `test_widget.py`)."""
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        field = FIELD / "f23_festival_emoji_marqueurs.txt"
        upload(client, field.name, field.read_bytes())
        body = ask(
            client, "Combien de visiteurs le festival des Lanternes de Quimperlé a-t-il attirés ?"
        )
    quoted = "« Le festival des Lanternes de Quimperlé a attiré 86 000 visiteurs en trois soirées, "
    assert f"{quoted}selon la mairie. » [1]" in body["answer"], body["answer"]
    assert not re.search("[\U0001f000-\U0001ffff]", body["answer"]), body["answer"]
    first = body["citations"][0]["text"]
    assert "86 000 visiteurs" in first and re.match("[\U0001f000-\U0001ffff]", first), first


def test_f30_a_sentence_that_leaves_its_topic_to_the_title_is_found(tmp_path: Path) -> None:
    """The sentence "Les étudiants bénéficieront d'une réduction de moitié." names neither the
    tram nor Bellerive, which its article's title does: it ranked under the tram's fares, and
    the English question was answered with the monthly pass's 40 euros."""
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        for name in ("f30_tram_tarifs.txt", "f30_telecabine_tarifs.txt"):
            upload(client, name, (FIELD / name).read_bytes())
        for question in (
            "What discount do students get on Bellerive's tram?",
            "Quelle réduction ont les étudiants sur le tramway de Bellerive ?",
        ):
            body = ask(client, question)
            cited = [c["text"] for c in body["citations"]]
            assert "Les étudiants bénéficieront d'une réduction de moitié." in cited, body
