"""The service reading its feeds (FEEDS) in the background, every FEED_INTERVAL seconds.

Each poll ingests what is new or changed (`ingest.feeds.ingest_feed`) and refreshes the
retriever when anything was written. A feed that fails is logged and retried sooner, with
exponential back-off from `RETRY_SECONDS` up to the interval; the others go on meanwhile.

One worker per host polls: the workers of a host (`uvicorn --workers N`) share a lock file, and
the one holding it polls while the others try for it at each interval. Hosts sharing a Chroma
server each poll; ingest being idempotent, they write each article once, but each fetches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import tempfile
import time
from pathlib import Path
from typing import IO

from starlette.concurrency import run_in_threadpool

from app.services.retriever import Retriever
from config import Settings
from ingest.feeds import FetchError, PoliteFetcher, fetcher_for, ingest_feed
from vectorstore import ChromaStore, Embedder, ServiceError

log = logging.getLogger("app.feeds")

RETRY_SECONDS = 30.0  # the first retry of a failing feed; doubled at each failure after


class FeedPoller:
    """Polls `settings.feeds`; `run` is the task's body (cancel it to stop)."""

    def __init__(
        self,
        settings: Settings,
        store: ChromaStore,
        embedder: Embedder,
        retriever: Retriever,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.due = dict.fromkeys(settings.feeds, 0.0)  # feed -> when to poll it next (monotonic)
        self.failures = dict.fromkeys(settings.feeds, 0)
        self._lock_file: IO[bytes] | None = None

    async def run(self) -> None:
        fetcher = fetcher_for(self.settings)
        try:
            while True:
                if self._hold_the_lock():
                    for url, when in list(self.due.items()):
                        if when <= time.monotonic():
                            await self._poll(url, fetcher)
                    wait = min(self.due.values()) - time.monotonic()
                else:
                    wait = self.settings.feed_interval
                await asyncio.sleep(max(wait, 0.1))
        finally:
            fetcher.close()
            if self._lock_file is not None:
                self._lock_file.close()

    async def _poll(self, url: str, fetcher: PoliteFetcher) -> None:
        interval = self.settings.feed_interval
        try:
            report = await run_in_threadpool(
                ingest_feed, url, self.store, self.embedder, self.settings, fetcher
            )
        except Exception as exc:  # one feed's failure, whatever it is, stops no other
            self.failures[url] += 1
            delay = min(interval, RETRY_SECONDS * 2 ** (self.failures[url] - 1))
            self.due[url] = time.monotonic() + delay
            message = exc.message if isinstance(exc, ServiceError) else str(exc)
            log.warning(
                "feed failed (%d in a row), retried in %.0f s: %s",
                self.failures[url],
                delay,
                message,
                extra={"feed": url},
                exc_info=not isinstance(exc, FetchError | ServiceError),
            )
            return
        self.failures[url] = 0
        self.due[url] = time.monotonic() + interval
        log.info("feed read: %s", report.summary(), extra={"feed": url})
        for link, why in report.skipped:
            log.warning("feed article skipped: %s", why, extra={"feed": url, "link": link})
        if report.added or report.replaced:
            await run_in_threadpool(self.retriever.refresh)

    def _hold_the_lock(self) -> bool:
        """Whether this worker is its host's poller (taking the lock if it is free)."""
        if self._lock_file is not None:
            return True
        target = f"{self.settings.chroma_host or self.settings.chroma_path}|{self.settings.feeds}"
        name = f"cited-news-feeds-{hashlib.sha1(target.encode()).hexdigest()[:12]}.lock"
        handle = (Path(tempfile.gettempdir()) / name).open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True


def start(poller: FeedPoller) -> asyncio.Task[None]:
    """The poller's task, started on the running loop."""
    return asyncio.create_task(poller.run())


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel the poller's task and wait for it to end."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
