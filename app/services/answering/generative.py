"""Answers written by a chat model, checked sentence by sentence before they are shown.

The extractive evidence check runs first: when the articles do not answer, the service says so
without asking the model. Otherwise the model gets the numbered passages and the rules
(`prompts/answer_<lang>.toml`), its text streams out as it comes, and the final answer keeps only
the sentences the passages support (`verify.py`). When the model fails, or nothing it wrote
survives, the extractive answer is given instead, flagged as a fallback with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from app.services.answering.chat import ChatModel, Messages, ModelUnavailable
from app.services.answering.extractive import ExtractiveGenerator
from app.services.answering.generator import Answer
from app.services.answering.verify import Evidence, verify
from app.services.followup import Turn, self_contained
from app.services.language import Language, detect_language
from app.services.retriever import Retrieval
from app.services.tokens import fold, tokenize
from prompts import load_prompt
from vectorstore import ChunkHit, Embedder

NOTHING_SUPPORTED = "nothing the model wrote was supported by the passages"
_REWRITE_MAX_RATIO = 4
# After a failure the model is left alone this long, so that one request (a rewrite, then an
# answer) or a burst of them does not wait out the same dead server again and again.
COOL_DOWN_SECONDS = 10.0


class GenerativeGenerator:
    """A chat model's answers, verified; the extractive backend when it cannot be trusted."""

    def __init__(
        self, chat: ChatModel, embedder: Embedder, extractive: ExtractiveGenerator
    ) -> None:
        self.chat = chat
        self.name = chat.name
        self.embedder = embedder
        self.extractive = extractive
        self._resting_until = 0.0
        self._last_failure = ""

    def _ask_model(self, messages: Messages) -> Iterator[str]:
        """The model's stream, unless it failed moments ago; a failure starts the cool-down."""
        if time.monotonic() < self._resting_until:
            raise ModelUnavailable(self._last_failure)
        try:
            yield from self.chat.stream(messages)
        except ModelUnavailable as exc:
            self._resting_until = time.monotonic() + COOL_DOWN_SECONDS
            self._last_failure = exc.message
            raise

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The model's self-contained version of a follow-up; the simple rule if it fails."""
        if not history:
            return question
        prompt = load_prompt("condense", detect_language(question))
        lines = "\n".join(f"{t.role}: {t.content}" for t in history[-6:])
        messages = [
            {"role": "system", "content": prompt["system"]},
            {"role": "user", "content": prompt["user"].format(history=lines, question=question)},
        ]
        try:
            rewritten = "".join(self._ask_model(messages)).strip().split("\n")[0]
        except ModelUnavailable:
            return self_contained(question, history)
        plausible = (
            set(tokenize(question)) & set(tokenize(rewritten))
            and len(rewritten) <= _REWRITE_MAX_RATIO * len(question) + 200
        )
        return rewritten if plausible else self_contained(question, history)

    def answer(self, question: str, language: Language, retrieval: Retrieval) -> Answer:
        final = [e for e in self.stream(question, language, retrieval) if isinstance(e, Answer)]
        return final[-1]

    def stream(
        self, question: str, language: Language, retrieval: Retrieval
    ) -> Iterator[str | Answer]:
        evidence = self.extractive.answering_sentences(question, retrieval)
        if not evidence:
            yield self.extractive.compose([], language, retrieval)
            return
        pieces: list[str] = []
        written = self._ask_model(messages_for(question, language, retrieval.hits))
        try:
            for piece in written:
                pieces.append(piece)
                yield piece
        except ModelUnavailable as exc:
            yield self.extractive.compose(
                evidence, language, retrieval, fallback=True, notice=exc.message
            )
            return
        finally:
            close = getattr(written, "close", None)
            if close:
                close()  # a client that went away stops the generation
        written_text = "".join(pieces)
        if _declines(written_text):
            yield self.extractive.compose([], language, retrieval, backend=self.name)
            return
        sentences, vectors = retrieval.snapshot.sentences_of(
            [hit.chunk.id for hit in retrieval.hits]
        )
        checked = verify(
            written_text, Evidence(retrieval.hits, sentences, vectors), self.embedder.embed
        )
        if not checked.citations:
            yield self.extractive.compose(
                evidence,
                language,
                retrieval,
                fallback=True,
                notice=NOTHING_SUPPORTED,
                unsupported=checked.unsupported,
            )
            return
        yield Answer(
            checked.text,
            language,
            False,
            self.name,
            checked.citations,
            unsupported=checked.unsupported,
        )


def messages_for(question: str, language: Language, hits: list[ChunkHit]) -> Messages:
    """The system rules, a worked example, and the numbered passages with the question."""
    prompt = load_prompt("answer", language)
    passages = "\n".join(
        prompt["passage"].format(n=n, title=hit.chunk.doc.title, text=hit.chunk.text)
        for n, hit in enumerate(hits, start=1)
    )
    return [
        {"role": "system", "content": prompt["system"]},
        {"role": "user", "content": prompt["example_user"]},
        {"role": "assistant", "content": prompt["example_assistant"]},
        {"role": "user", "content": prompt["user"].format(passages=passages, question=question)},
    ]


def _declines(text: str) -> bool:
    """Whether the model said, as its rules tell it to, that the passages do not answer."""
    phrases = [fold(load_prompt("answer", lang)["abstain"]) for lang in ("fr", "en")]
    said = fold(text).strip().strip('.!«»" ')
    return any(said.startswith(p) and len(said) < 2 * len(p) for p in phrases)
