"""Request dependencies: the components the lifespan built, read from `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.services.answering import Generator
from app.services.answering.chat import ChatModel
from app.services.documents import DocumentService
from app.services.retriever import Retriever
from config import Settings
from vectorstore import ChromaStore, Embedder


@dataclass
class Components:
    """Everything loaded once at start-up and shared by all requests."""

    settings: Settings
    embedder: Embedder
    store: ChromaStore
    retriever: Retriever
    generator: Generator
    documents: DocumentService
    chat: ChatModel | None = None

    def close(self) -> None:
        self.retriever.close()
        if self.chat is not None:
            # The reader waits for the question holding the model before releasing it.
            close = getattr(self.generator, "close", self.chat.close)
            close()


async def get_components(request: Request) -> Components:
    # async: a plain function would be run in the thread pool, a hop for each request.
    components: Components = request.app.state.components
    return components


ComponentsDep = Annotated[Components, Depends(get_components)]
