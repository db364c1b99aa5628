"""`create_app()`: the FastAPI service, with its components opened once in the lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from app import errors
from app.deps import Components
from app.guards import GuardMiddleware
from app.observability import ObservabilityMiddleware, configure_logging
from app.routers import ask, documents, health, openai_compat, search, widget
from app.services import feed_poller
from app.services.answering import ExtractiveGenerator, GenerativeGenerator, Generator
from app.services.answering.chat import make_chat
from app.services.answering.memo import RememberingChat
from app.services.answering.model_queue import ModelQueue
from app.services.documents import DocumentService
from app.services.feed_poller import FeedPoller
from app.services.retriever import HybridRetriever, Retriever
from app.services.store_retriever import StoreRetriever
from config import Settings, get_settings
from vectorstore import ChromaStore, Embedder, ServiceError, make_embedder

log = logging.getLogger("app")


def build_components(settings: Settings) -> Components:
    """Load the embedder, open the store and build the retriever and the answering backend."""
    # Requests run in threads; each numpy call among them gets one BLAS thread (see
    # EMBEDDER_THREADS): multi-threaded OpenBLAS calls from concurrent threads thrash.
    threadpool_limits(limits=1, user_api="blas")
    embedder = make_embedder(settings)
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    retriever = make_retriever(store, embedder, settings)
    extractive = ExtractiveGenerator(settings)
    chat = make_chat(settings)
    generator: Generator = extractive
    if chat is not None:
        queue = ModelQueue(settings.llm_queue_seconds)
        # At temperature 0 the model's reply to a prompt never changes: none is asked twice.
        deterministic = settings.llm_temperature == 0
        if deterministic:
            chat = RememberingChat(chat)
        reader = GenerativeGenerator(chat, embedder, extractive, queue, remember=deterministic)
        # The model learns its jobs' rules in the background: /search and the extractive
        # fallback serve meanwhile, questions to the model wait their turn behind it.
        reader.warm_in_background()
        generator = reader
    documents = DocumentService(store, retriever, embedder, settings)
    return Components(settings, embedder, store, retriever, generator, documents, chat)


def make_retriever(store: ChromaStore, embedder: Embedder, settings: Settings) -> Retriever:
    """The retriever RETRIEVAL_MODE names; `auto` serves a corpus of up to MEMORY_MAX_CHUNKS
    chunks from memory, a larger one from the store."""
    if settings.serves_from_store(store.count()):
        return StoreRetriever(store, embedder, settings)
    return HybridRetriever(store, embedder, settings)


async def _watch(retriever: Retriever, every: float) -> None:
    """Reload the snapshot when another process changed the store; survive the store's outages."""
    failing = False
    while True:
        await asyncio.sleep(every)
        try:
            if await run_in_threadpool(retriever.refresh_if_changed):
                log.info("documents changed: %d chunks now", retriever.counts()[1])
            failing = False
        except ServiceError as exc:
            if not failing:
                log.warning("cannot check the store for changes: %s", exc.message)
            failing = True


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service; `settings` default to the environment's."""
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = build_components(settings)
        log.info(
            "ready: %d chunks served from %s, embedder %s, backend %s",
            components.retriever.counts()[1],
            components.retriever.mode,
            components.embedder.fingerprint,
            components.generator.name,
        )
        app.state.components = components
        watcher = None
        if settings.refresh_seconds:
            watcher = asyncio.create_task(_watch(components.retriever, settings.refresh_seconds))
        polling = None
        if settings.feeds:
            poller = FeedPoller(
                settings, components.store, components.embedder, components.retriever
            )
            polling = feed_poller.start(poller)
        yield
        if polling is not None:
            await feed_poller.stop(polling)
        if watcher is not None:
            watcher.cancel()
        components.close()

    app = FastAPI(
        title="Cited answers over news articles",
        description="Ask questions in French or English; every answer cites the passages it "
        "rests on, or says that the articles do not answer.",
        version="0.1.0",
        lifespan=lifespan,
    )
    errors.install(app)
    # Outermost last: every request gets an id and a log line, refusals get CORS headers.
    app.add_middleware(search.SearchFastPath, max_body=settings.max_body_bytes)
    app.add_middleware(GuardMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "Accept", "X-API-Key", "Authorization", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
        )
    app.add_middleware(ObservabilityMiddleware)
    routers = (search, ask, openai_compat, documents, health, widget)
    for router in (module.router for module in routers):
        app.include_router(router)
    return app
