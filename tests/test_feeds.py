"""Feeds and sitemaps, fetched from a local HTTP server on 127.0.0.1 (there is no internet here):
`python -m ingest --feed`, idempotent re-reads, polite fetching, and the service's polling."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from config import Settings
from ingest.feeds import FetchError, PoliteFetcher, ingest_feed, read_entries
from tests.conftest import make_settings
from vectorstore import ChromaStore, Embedder


def page(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html lang="fr"><head><meta charset="utf-8"><title>{title} - La Gazette du Lac</title>'
        '<meta property="og:site_name" content="La Gazette du Lac"></head><body>'
        '<nav><a href="/">Accueil</a> <a href="/sports">Sports</a></nav>'
        f"<article><h1>{title}</h1>{body}</article>"
        "<footer>Abonnez-vous à notre lettre d'information.</footer></body></html>"
    )


BARRAGE = page(
    "Le barrage de Montclar sera rénové",
    "Le syndicat des eaux a voté la rénovation du barrage de Montclar, construit en 1962.",
    "Les travaux coûteront 8,5 millions d'euros et dureront deux ans, selon le président du "
    "syndicat, Paul Méric.",
)
FERRY = page(
    "Un nouveau ferry électrique sur le lac",
    "Le ferry électrique Hirondelle relie désormais Port-Lac à Saint-Aubin en vingt minutes.",
    "Il transporte jusqu'à 180 passagers et a coûté 4,2 millions d'euros à la région.",
)
FERRY_CHANGED = FERRY.replace("180 passagers", "220 passagers")
FESTIVAL = page(
    "Le festival de la Plage revient en juillet",
    "Le festival de la Plage accueillera 12 000 spectateurs du 10 au 13 juillet à Port-Lac.",
)


def rss(base: str, ferry_date: str = "Tue, 01 Apr 2025 08:00:00 +0200") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>La Gazette du Lac</title><link>{base}/</link>
<item><title>Barrage de Montclar : 8,5 millions pour la rénovation</title>
<link>{base}/2025/03/barrage.html</link><pubDate>Mon, 17 Mar 2025 00:30:00 +0100</pubDate></item>
<item><title>Le ferry Hirondelle mis à l'eau</title>
<link>{base}/2025/04/ferry.html</link><pubDate>{ferry_date}</pubDate></item>
<item><title>Coulisses</title><link>{base}/private/coulisses.html</link>
<pubDate>Tue, 01 Apr 2025 09:00:00 +0200</pubDate></item>
<item><title>Article retiré</title><link>{base}/2025/04/retire.html</link>
<pubDate>Wed, 02 Apr 2025 09:00:00 +0200</pubDate></item>
</channel></rss>"""


def atom(base: str) -> str:
    return """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Gazette</title><id>urn:gazette</id>
<updated>2025-06-02T23:30:00+02:00</updated>
<entry><title>Festival de la Plage : 12 000 spectateurs attendus</title><id>urn:festival</id>
<link href="/2025/06/festival.html"/><published>2025-06-01T23:30:00+02:00</published>
<updated>2025-06-02T23:30:00+02:00</updated></entry></feed>"""


def sitemap_index(base: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemap-2025.xml</loc></sitemap></sitemapindex>"""


def sitemap(base: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/2025/03/barrage.html</loc><lastmod>2025-03-17</lastmod></url>
<url><loc>{base}/2025/06/festival.html</loc><news:news><news:title>Festival</news:title>
<news:publication_date>2025-06-01T10:00:00+02:00</news:publication_date></news:news></url>
</urlset>"""


@dataclass
class Site:
    """A news site on 127.0.0.1: paths to (status, content type, body), and what was asked."""

    url: str = ""
    pages: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    agents: set[str] = field(default_factory=set)
    times: list[float] = field(default_factory=list)

    def serve(self, path: str, body: str, kind: str = "text/html; charset=utf-8") -> None:
        self.pages[path] = (200, kind, body)


@pytest.fixture
def site() -> Iterator[Site]:
    found = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            found.hits[self.path] += 1
            found.agents.add(self.headers.get("User-Agent", ""))
            found.times.append(time.monotonic())
            status, kind, body = found.pages.get(self.path, (404, "text/plain", "not found"))
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    found.serve("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    found.serve("/feed.xml", rss(found.url), "application/rss+xml")
    found.serve("/atom.xml", atom(found.url), "application/atom+xml")
    found.serve("/sitemap.xml", sitemap_index(found.url), "application/xml")
    found.serve("/sitemap-2025.xml", sitemap(found.url), "application/xml")
    found.serve("/2025/03/barrage.html", BARRAGE)
    found.serve("/2025/04/ferry.html", FERRY)
    found.serve("/2025/06/festival.html", FESTIVAL)
    found.serve("/private/coulisses.html", page("Coulisses", "Texte à ne pas lire."))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()


def feed_settings(tmp: Path, **overrides: object) -> Settings:
    return make_settings(tmp, feed_host_delay=0.0, feed_timeout=5.0, **overrides)


def documents(client: TestClient) -> dict[str, dict[str, object]]:
    return {str(d["source"]): d for d in client.get("/documents").json()["documents"]}


def test_the_cli_ingests_a_feed_with_its_titles_links_and_dates(site: Site, tmp_path: Path) -> None:
    env = {**os.environ, "CHROMA_PATH": str(tmp_path / "chroma"), "FEED_HOST_DELAY": "0"}
    env.pop("CHROMA_HOST", None)
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "--feed", f"{site.url}/feed.xml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "2 added" in done.stdout
    assert "disallowed by robots.txt" in done.stderr and "HTTP 404" in done.stderr
    assert site.hits["/private/coulisses.html"] == 0
    assert any(a.startswith("cited-news-qa/") for a in site.agents)
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        docs = documents(client)
        barrage = docs[f"{site.url}/2025/03/barrage.html"]
        assert barrage["title"] == "Barrage de Montclar : 8,5 millions pour la rénovation"
        assert barrage["date"] == "2025-03-17"  # the day as published (+01:00), not UTC's 16th
        assert barrage["site"] == "La Gazette du Lac"
        assert docs[f"{site.url}/2025/04/ferry.html"]["date"] == "2025-04-01"
        answer = client.post(
            "/ask", json={"question": "Combien coûteront les travaux du barrage de Montclar ?"}
        ).json()
        assert not answer["abstained"] and "8,5 millions" in answer["answer"]
        cited = answer["citations"][0]
        assert cited["source"] == f"{site.url}/2025/03/barrage.html"
        assert cited["date"] == "2025-03-17"
        assert "Abonnez-vous" not in cited["passage"] and "Accueil" not in cited["passage"]
        april = client.post(
            "/search",
            json={"query": "barrage ferry", "filters": {"date_from": "2025-04-01"}},
        ).json()["results"]
        assert {r["source"] for r in april} == {f"{site.url}/2025/04/ferry.html"}
        by_site = client.post(
            "/search", json={"query": "ferry", "filters": {"sources": ["127.0.0.1"]}}
        ).json()["results"]
        assert by_site  # a feed's articles match their host


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """conftest's `store` then opens its Chroma with these settings."""
    return feed_settings(tmp_path)


def test_a_second_read_fetches_nothing_unchanged_and_replaces_what_changed(
    site: Site, settings: Settings, store: ChromaStore, embedder: Embedder
) -> None:
    first = ingest_feed(f"{site.url}/feed.xml", store, embedder, settings)
    assert len(first.added) == 2 and len(first.skipped) == 2
    before = site.hits.copy()
    again = ingest_feed(f"{site.url}/feed.xml", store, embedder, settings)
    assert len(again.unchanged) == 2 and not again.added and not again.replaced
    fetched = site.hits - before
    assert fetched["/2025/03/barrage.html"] == 0 and fetched["/2025/04/ferry.html"] == 0
    # The ferry's article changes, and the feed says so with a new date.
    site.serve("/2025/04/ferry.html", FERRY_CHANGED)
    site.serve("/feed.xml", rss(site.url, "Thu, 03 Apr 2025 10:00:00 +0200"), "application/rss+xml")
    before = site.hits.copy()
    changed = ingest_feed(f"{site.url}/feed.xml", store, embedder, settings)
    assert len(changed.replaced) == 1 and len(changed.unchanged) == 1
    assert (site.hits - before)["/2025/03/barrage.html"] == 0
    ferry = [d for d in store.documents() if d.source.endswith("ferry.html")]
    assert len(ferry) == 1 and ferry[0].date == "2025-04-03"
    chunks = store.all_chunks()
    assert any("220 passagers" in c.text for c in chunks)
    assert not any("180 passagers" in c.text for c in chunks)


def test_a_sitemap_without_stamps_is_fetched_again_and_found_unchanged(
    site: Site, settings: Settings, store: ChromaStore, embedder: Embedder
) -> None:
    first = ingest_feed(f"{site.url}/sitemap.xml", store, embedder, settings)
    assert len(first.added) == 2
    dates = {d.source.rsplit("/", 1)[1]: d.date for d in store.documents()}
    assert dates == {"barrage.html": "2025-03-17", "festival.html": "2025-06-01"}
    before = site.hits.copy()
    again = ingest_feed(f"{site.url}/sitemap.xml", store, embedder, settings)
    assert len(again.unchanged) == 2
    fetched = site.hits - before
    assert fetched["/2025/03/barrage.html"] == 0  # lastmod is a stamp
    assert fetched["/2025/06/festival.html"] == 1  # no stamp: fetched, same bytes


def test_atom_dates_are_the_publisher_s_day(site: Site) -> None:
    fetcher = PoliteFetcher(timeout=5, host_delay=0, max_bytes=1_000_000)
    [entry] = read_entries(f"{site.url}/atom.xml", fetcher)
    assert entry.link == f"{site.url}/2025/06/festival.html"  # relative link resolved
    assert entry.date == "2025-06-01"  # 23:30 at +02:00, though already the 2nd in UTC
    assert entry.stamp == "2025-06-02T23:30:00+02:00"


def test_fetching_is_polite_and_bounded(site: Site) -> None:
    fetcher = PoliteFetcher(timeout=5, host_delay=0.3, max_bytes=2_000)
    for path in ("/2025/03/barrage.html", "/2025/04/ferry.html"):
        fetcher.get(site.url + path)
    gaps = [b - a for a, b in zip(site.times, site.times[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.29  # robots.txt, then each page, 0.3 s apart
    site.serve("/big.html", "x" * 5_000)
    with pytest.raises(FetchError, match="larger than 2000 bytes"):
        fetcher.get(site.url + "/big.html")
    with pytest.raises(FetchError, match="robots.txt"):
        fetcher.get(site.url + "/private/coulisses.html")
    with pytest.raises(FetchError, match="not a feed"):
        read_entries(site.url + "/2025/03/barrage.html", fetcher)
    with pytest.raises(FetchError, match="not an http"):
        fetcher.get("file:///etc/passwd")


def test_the_service_polls_its_feeds_and_a_failing_one_stops_no_other(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.pages["/broken.xml"] = (500, "text/plain", "oops")
    feeds = [f"{site.url}/broken.xml", f"{site.url}/atom.xml", f"{site.url}/feed.xml"]
    settings = feed_settings(tmp_path, feeds=feeds, feed_interval=0.5)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        while len(documents(client)) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(documents(client)) == 3  # the Atom entry and the RSS feed's two
        answer = client.post(
            "/ask", json={"question": "Combien de spectateurs le festival de la Plage attend-il ?"}
        ).json()
        assert "12 000" in answer["answer"]
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    failures = [r for r in logged if r["message"].startswith("feed failed")]
    assert failures and all(r["feed"] == feeds[0] for r in failures)  # the others never failed
    assert "HTTP 500" in failures[0]["message"] and "retried in" in failures[0]["message"]
