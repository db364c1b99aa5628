"""Chat models the reader runs on: any OpenAI-compatible server, or a GGUF file in-process.

Both stream text pieces; any failure of the model (refused connection, timeout, 5xx, rejected
key, missing file) is raised as ModelUnavailable with a sentence that says which, so the caller
can fall back to an extractive answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from config import Settings
from vectorstore import ServiceError

Messages = list[dict[str, str]]
_TOP_LOGPROBS = 20  # the most OpenAI's API gives


def few_shot(system: str, examples: Sequence[tuple[str, str]], final: str) -> tuple[Messages, int]:
    """A job's messages: its rules, its worked examples as (user, assistant) turns, then the
    question at hand; with how many leading messages every call of the job shares."""
    messages: Messages = [{"role": "system", "content": system}]
    for asked, reply in examples:
        messages.append({"role": "user", "content": asked})
        messages.append({"role": "assistant", "content": reply})
    return [*messages, {"role": "user", "content": final}], len(messages)


class ModelUnavailable(ServiceError):
    status_code = 502


class ChatModel(Protocol):
    """A chat model the reader's jobs run on: it writes, and it chooses among short replies.

    `fixed` is how many leading messages (rules, worked examples) every call of the same job
    shares: a model in this process keeps them evaluated, a server may ignore it.
    """

    name: str

    def stream(
        self, messages: Messages, fixed: int = 0, max_tokens: int | None = None
    ) -> Iterator[str]:
        """The reply's text, piece by piece; closing the iterator stops the generation."""
        ...

    def choose(self, messages: Messages, fixed: int, options: Sequence[str]) -> np.ndarray:
        """The probability that the reply starts with each option (one token each, such as
        "Yes" / "No"), shape (len(options),), summing to 1."""
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
        self._max_tokens = settings.llm_max_tokens
        self._temperature = settings.llm_temperature
        self._logprobs = True
        self._client: Any = openai.OpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
        )

    def stream(
        self, messages: Messages, fixed: int = 0, max_tokens: int | None = None
    ) -> Iterator[str]:
        with self._errors():
            response = self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                stream=True,
                max_tokens=max_tokens or self._max_tokens,
                temperature=self._temperature,
            )
            try:
                for chunk in response:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
            finally:
                response.close()

    def choose(self, messages: Messages, fixed: int, options: Sequence[str]) -> np.ndarray:
        """From the first token's `top_logprobs` where the server gives them, else from the
        one-token reply itself (all odds on the option it starts with; even odds if none)."""
        options_asked: dict[str, Any] = {"max_tokens": 1, "temperature": 0.0}
        if self._logprobs:
            options_asked |= {"logprobs": True, "top_logprobs": _TOP_LOGPROBS}
        try:
            with self._errors():
                response = self._client.chat.completions.create(
                    model=self._model, messages=messages, **options_asked
                )
        except ModelUnavailable as exc:
            if not (self._logprobs and isinstance(exc.__cause__, self._openai.BadRequestError)):
                raise
            self._logprobs = False  # a server without log-probabilities: read the reply
            return self.choose(messages, fixed, options)
        choice = response.choices[0]
        odds = np.zeros(len(options))
        content = choice.logprobs.content if choice.logprobs else None
        for alternative in content[0].top_logprobs if content else []:
            token = alternative.token.strip()
            if token in options:
                i = options.index(token)
                odds[i] = max(odds[i], math.exp(alternative.logprob))
        if not odds.any():
            said = (choice.message.content or "").strip()
            odds = np.array([float(said.startswith(o)) for o in options])
        return odds / odds.sum() if odds.any() else np.full(len(options), 1 / len(options))

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The openai client's failures as ModelUnavailable, each with what to check."""
        errors = self._openai
        try:
            yield
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


def make_chat(settings: Settings) -> ChatModel | None:
    """The chat model the settings name, or None for the extractive backend.

    `local` and `llama-cpp` run a GGUF file in this process: LLM_MODEL_PATH, or for `local`
    without it the bundled reader, joined and checked on first use (`bundled_model.py`).
    """
    from app.services.answering.bundled_model import bundled_model_path
    from app.services.answering.local_model import LocalModel

    match settings.llm_backend:
        case "openai":
            return OpenAIChat(settings)
        case "local" | "llama-cpp":
            path = settings.llm_model_path or bundled_model_path(settings.llm_cache_dir)
            return LocalModel(
                path,
                name=settings.llm_backend,
                context=settings.llm_context,
                threads=settings.llm_threads,
                gpu_layers=settings.llm_gpu_layers,
                mmap=settings.llm_mmap,
                max_tokens=settings.llm_max_tokens,
                temperature=settings.llm_temperature,
                prefix_dir=settings.llm_cache_dir / "prefixes",
            )
        case "extractive":
            return None
