"""Articles as newsrooms publish them: RSS 2.0 and Atom feeds, and sitemaps, fetched politely.

`ingest_feed` reads a feed (feedparser) or a sitemap (its XML, and a sitemap index's sitemaps),
fetches each linked page and ingests it as an HTML upload is (trafilatura), with the feed's
title, link (the document's source) and publication date. It is idempotent by link and content:
a page's document id comes from its link; a page whose feed entry carries the same stamp
(updated or published time) as the stored document is skipped without being fetched; a
fetched page whose bytes and feed fields are unchanged is "unchanged"; any other replaces it.

`PoliteFetcher` sends a User-Agent, bounds each request in time and size, honours robots.txt
(and its Crawl-delay) and spaces requests to one host by FEED_HOST_DELAY.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import re
import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
from lxml import etree

from config import Settings
from ingest.formats import iso_date
from ingest.pipeline import BatchWriter, IngestReport, RememberingEmbedder, doc_id_for
from ingest.readers import RawDocument, UnreadableFile, parse_document
from vectorstore import ChromaStore, Embedder

log = logging.getLogger("ingest.feeds")

USER_AGENT = "cited-news-qa/0.1 (+https://github.com/cited-news-qa; feed reader)"
_MAX_SITEMAPS = 50  # a sitemap index's sitemaps read, at most
_MAX_REDIRECTS = 5
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"


class FetchError(Exception):
    """A URL that could not be fetched, or that robots.txt keeps us from; says which and why."""


@dataclass(frozen=True)
class Entry:
    """One article a feed or sitemap links to: its page, and what the feed says of it."""

    link: str
    title: str = ""
    date: str = ""  # ISO YYYY-MM-DD, or empty
    stamp: str = ""  # the feed's updated (else published) time, as written; empty if none


@dataclass(frozen=True)
class Fetched:
    """A response read whole: its status, body and the charset its headers name."""

    status: int
    content: bytes
    charset: str | None


@dataclass
class _Host:
    robots: urllib.robotparser.RobotFileParser | None
    delay: float
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class PoliteFetcher:
    """GETs for a feed reader: a User-Agent, a time limit, a size limit, robots.txt honoured,
    and at least `host_delay` seconds (or robots.txt's Crawl-delay) between two requests to
    one host. Thread-safe; robots.txt is read once per host and fetcher."""

    def __init__(
        self,
        timeout: float,
        host_delay: float,
        max_bytes: int,
        user_agent: str = USER_AGENT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.user_agent = user_agent
        self.host_delay = host_delay
        self.max_bytes = max_bytes
        self._client = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": user_agent},
            follow_redirects=True,
            max_redirects=_MAX_REDIRECTS,
            transport=transport,
        )
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> Fetched:
        """The response to a GET of `url`.

        Raises FetchError when robots.txt disallows the URL, the server cannot be reached or
        answers an error status, or the body is over `max_bytes`."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{url}: not an http(s) URL")
        host = self._host(f"{parts.scheme}://{parts.netloc}")
        if host.robots is not None and not host.robots.can_fetch(self.user_agent, url):
            raise FetchError(f"{url}: disallowed by robots.txt")
        return self._request(host, url)

    def _host(self, origin: str) -> _Host:
        with self._lock:
            known = self._hosts.get(origin)
            if known is not None:
                return known
            known = self._hosts[origin] = _Host(None, self.host_delay)
        robots = urllib.robotparser.RobotFileParser()
        try:
            response = self._request(known, f"{origin}/robots.txt", check=False)
        except FetchError:
            return known  # no robots.txt to be had: everything allowed
        if response.status in (401, 403):
            robots.parse(["User-agent: *", "Disallow: /"])  # as urllib's own read() does
        elif response.status < 400:
            robots.parse(response.content.decode("utf-8", "replace").splitlines())
        else:
            return known  # 404 and the like: no rules
        delay = robots.crawl_delay(self.user_agent)
        known.robots = robots
        known.delay = max(self.host_delay, float(delay or 0))
        return known

    def _request(self, host: _Host, url: str, check: bool = True) -> Fetched:
        with host.lock:  # one request at a time per host, spaced by its delay
            wait = host.last + host.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                with self._client.stream("GET", url) as response:
                    body = bytearray()
                    for piece in response.iter_bytes():
                        body += piece
                        if len(body) > self.max_bytes:
                            raise FetchError(f"{url}: larger than {self.max_bytes} bytes")
                    fetched = Fetched(response.status_code, bytes(body), response.charset_encoding)
            except httpx.HTTPError as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
            finally:
                host.last = time.monotonic()
        if check and fetched.status >= 400:
            raise FetchError(f"{url}: HTTP {fetched.status}")
        return fetched

    def close(self) -> None:
        self._client.close()


def read_entries(url: str, fetcher: PoliteFetcher) -> list[Entry]:
    """The articles a feed (RSS 2.0, Atom) or a sitemap (or sitemap index) at `url` links to,
    in its order. Raises FetchError when it cannot be fetched or is neither."""
    body = fetcher.get(url).content
    head = body.lstrip()[:2000]
    if b"<urlset" in head or b"<sitemapindex" in head:
        return _sitemap_entries(url, body, fetcher)
    return _feed_entries(url, body)


def _feed_entries(url: str, body: bytes) -> list[Entry]:
    parsed = feedparser.parse(body)
    if parsed.get("bozo") and not parsed.entries:
        raise FetchError(f"{url}: not a feed ({parsed.get('bozo_exception')})")
    entries = []
    for item in parsed.entries:
        link = item.get("link")
        if not link:
            continue
        published = str(item.get("published") or item.get("updated") or "")
        stamp = str(item.get("updated") or item.get("published") or "")
        title = str(item.get("title", ""))
        entries.append(Entry(urljoin(url, link), title, _day(published), stamp))
    return entries


def _day(written: str) -> str:
    """The day of a feed's date as the publisher wrote it (in its own time zone, not UTC):
    RFC 822 ("Sun, 06 Apr 2025 00:30:00 +0200") in RSS, ISO 8601 in Atom; "" if neither."""
    try:
        return email.utils.parsedate_to_datetime(written).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return iso_date(written)


def _sitemap_entries(url: str, body: bytes, fetcher: PoliteFetcher, depth: int = 0) -> list[Entry]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise FetchError(f"{url}: not a sitemap ({exc})") from exc
    if root.tag == f"{_SITEMAP_NS}sitemapindex":
        if depth:
            return []  # an index inside an index: not followed
        entries: list[Entry] = []
        for loc in root.findall(f"{_SITEMAP_NS}sitemap/{_SITEMAP_NS}loc")[:_MAX_SITEMAPS]:
            child = urljoin(url, (loc.text or "").strip())
            try:
                entries += _sitemap_entries(child, fetcher.get(child).content, fetcher, depth + 1)
            except FetchError as exc:
                log.warning("sitemap skipped: %s", exc)
        return entries
    found = []
    for item in root.findall(f"{_SITEMAP_NS}url"):
        link = (item.findtext(f"{_SITEMAP_NS}loc") or "").strip()
        if not link:
            continue
        lastmod = (item.findtext(f"{_SITEMAP_NS}lastmod") or "").strip()
        published = (item.findtext(f"{_NEWS_NS}news/{_NEWS_NS}publication_date") or "").strip()
        title = (item.findtext(f"{_NEWS_NS}news/{_NEWS_NS}title") or "").strip()
        date = iso_date(published or lastmod)
        # lastmod alone says when a page changed: a publication date does not.
        found.append(Entry(urljoin(url, link), title, date, lastmod))
    return found


def page_name(link: str) -> PurePath:
    """A file name for a linked page (its document id is made from it): readable from the
    host and path, made unique by a hash of the whole link."""
    parts = urlsplit(link)
    readable = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname or ''}{parts.path}".lower())
    digest = hashlib.sha1(link.encode()).hexdigest()[:10]
    return PurePath(f"{readable.strip('-')[:80]}-{digest}.html")


def page_document(entry: Entry, response: Fetched) -> RawDocument:
    """A fetched page as an HTML upload reads, with what the feed says over what the page
    says (its title and date), its link as source and the feed's stamp. The version hash
    covers those fields too: a feed that renames an article replaces it."""
    data = response.content
    charset = response.charset
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        # The HTTP header's charset, where the page itself may not declare one.
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            data = data.decode(charset).encode("utf-8")
    raw = parse_document(data, page_name(entry.link), entry.link)
    meta = replace(
        raw.meta,
        title=entry.title or raw.meta.title,
        date=entry.date or raw.meta.date,
        url=entry.link,
        stamp=entry.stamp,
    )
    fields = "\0".join([raw.raw_hash, entry.title, entry.date, entry.link, entry.stamp])
    return replace(raw, meta=meta, raw_hash=hashlib.sha256(fields.encode()).hexdigest())


def ingest_feed(
    url: str,
    store: ChromaStore,
    embedder: Embedder,
    settings: Settings,
    fetcher: PoliteFetcher | None = None,
    on_entry: Callable[[Entry], None] = lambda entry: None,
) -> IngestReport:
    """Ingest every article a feed or sitemap links to (see the module's docstring).

    A page that cannot be fetched or read is reported in `skipped` with why, and the others
    go on; FetchError is raised only when the feed itself cannot be read."""
    started = time.perf_counter()
    own = fetcher is None
    fetcher = fetcher or fetcher_for(settings)
    report = IngestReport()
    try:
        entries = read_entries(url, fetcher)
        live = store.manifest()
        writer = BatchWriter(store, {d: v.content_hash for d, v in live.items()}, report)
        remembering = RememberingEmbedder(embedder)
        for entry in entries:
            on_entry(entry)
            doc_id = doc_id_for(page_name(entry.link))
            stored = live.get(doc_id)
            if entry.stamp and stored is not None and stored.feed_stamp == entry.stamp:
                report.unchanged.append(doc_id)  # the feed says so: not fetched
                continue
            try:
                raw = page_document(entry, fetcher.get(entry.link))
            except (FetchError, UnreadableFile) as exc:
                report.skipped.append((entry.link, str(exc)))
                continue
            writer.add(raw, remembering, settings)
        writer.close()
    finally:
        if own:
            fetcher.close()
    report.seconds = time.perf_counter() - started
    return report


def fetcher_for(settings: Settings) -> PoliteFetcher:
    """A fetcher with the settings' time limit, host delay and upload size limit."""
    return PoliteFetcher(settings.feed_timeout, settings.feed_host_delay, settings.max_upload_bytes)
