"""Chat models that write answers: any OpenAI-compatible server, or a GGUF file in-process.

Both stream text pieces; any failure of the model (refused connection, timeout, 5xx, rejected
key, missing file) is raised as ModelUnavailable with a sentence that says which, so the caller
can fall back to an extractive answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from config import Settings
from vectorstore import ServiceError

Messages = list[dict[str, str]]


class ModelUnavailable(ServiceError):
    status_code = 502


class ChatModel(Protocol):
    name: str

    def stream(self, messages: Messages) -> Iterator[str]:
        """The answer's text, piece by piece; closing the iterator stops the generation."""
        ...

    def close(self) -> None:
        """Release the connection pool or the model's memory."""
        ...


class OpenAIChat:
    """An OpenAI-compatible chat-completions server, through the openai client."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        try:
            import openai
        except ImportError as exc:
            raise ModelUnavailable(
                "LLM_BACKEND=openai needs the 'llm' extra: pip install -e '.[llm]'"
            ) from exc
        self._openai = openai
        self._model = settings.llm_model
        self._options: dict[str, Any] = {
            "max_tokens": settings.llm_max_tokens,
            "temperature": settings.llm_temperature,
        }
        self._client: Any = openai.OpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
        )

    def stream(self, messages: Messages) -> Iterator[str]:
        errors = self._openai
        try:
            response = self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                stream=True,
                **self._options,  # type: ignore[arg-type]
            )
            try:
                for chunk in response:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
            finally:
                response.close()
        except errors.AuthenticationError as exc:
            raise ModelUnavailable("the model server rejected the API key (LLM_API_KEY)") from exc
        except errors.APITimeoutError as exc:
            raise ModelUnavailable("the model server did not answer in time") from exc
        except errors.APIConnectionError as exc:
            raise ModelUnavailable("the model server cannot be reached (LLM_BASE_URL)") from exc
        except errors.APIStatusError as exc:
            raise ModelUnavailable(f"the model server answered {exc.status_code}") from exc
        except errors.APIError as exc:  # an error inside the stream, or an unreadable reply
            raise ModelUnavailable(f"the model server failed: {exc.message}") from exc

    def close(self) -> None:
        self._client.close()


class LlamaCppChat:
    """A GGUF model run in this process by llama-cpp-python (one generation at a time)."""

    name = "llama-cpp"

    def __init__(self, settings: Settings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelUnavailable(
                "LLM_BACKEND=llama-cpp needs llama-cpp-python: pip install -e '.[llm]' "
                "(it compiles; allow a few minutes)"
            ) from exc
        path = settings.llm_model_path
        if path is None or not path.is_file():
            raise ModelUnavailable(f"LLM_MODEL_PATH {path} is not a file")
        self._llm: Any = Llama(
            model_path=str(path),
            n_ctx=settings.llm_context,
            n_threads=os.cpu_count() or 2,
            verbose=False,
        )
        self._options = {
            "max_tokens": settings.llm_max_tokens,
            "temperature": settings.llm_temperature,
        }
        self._lock = threading.Lock()
        self._timeout = settings.llm_timeout

    def stream(self, messages: Messages) -> Iterator[str]:
        # One generation at a time; a request waits at most the timeout for its turn.
        if not self._lock.acquire(timeout=self._timeout):
            raise ModelUnavailable("the local model is busy with other answers")
        try:
            for chunk in self._llm.create_chat_completion(
                messages=messages, stream=True, **self._options
            ):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        except ValueError as exc:  # e.g. a prompt longer than LLM_CONTEXT
            raise ModelUnavailable(f"the local model could not answer: {exc}") from exc
        finally:
            self._lock.release()

    def close(self) -> None:
        self._llm.close()


def make_chat(settings: Settings) -> ChatModel | None:
    """The chat model the settings name, or None for the extractive backend."""
    match settings.llm_backend:
        case "openai":
            return OpenAIChat(settings)
        case "llama-cpp":
            return LlamaCppChat(settings)
        case "extractive":
            return None
