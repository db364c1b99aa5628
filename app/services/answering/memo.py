"""Work the model has done once is not done again: its replies and judgements, remembered.

At temperature 0 the model's reply to a prompt is always the same, and its jobs come back to the
same prompts often: a sentence cited for several English questions is translated the same way
each time (2-4 s here), a sentence is judged against a question asked again, a question asked
twice over the same candidates is written the same. `RememberingChat` keeps the last
`MEMO_ENTRIES` replies and judgements of a chat model, keyed by their whole prompt, and gives
them back instead of asking the model.

`GenerativeGenerator` keeps its last `ANSWER_ENTRIES` final answers the same way, keyed by the
question and the chunks retrieved for it (chunk ids name their document's version:
`vectorstore.records.chunk_id`), so that a question asked again over the same corpus is
answered without waiting for the model's turn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from app.services.answering.chat import ChatModel, Messages
from app.services.remembered import Remembered

# About 1 KB an entry at most (a reply of LLM_MAX_TOKENS tokens), so a few MB in all.
MEMO_ENTRIES = 4096
ANSWER_ENTRIES = 1024


def _key(job: str, messages: Messages, *extra: object) -> str:
    """A digest of the whole prompt (rules, examples and what is asked) and the call's options."""
    text = json.dumps([job, messages, *extra], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class RememberingChat:
    """A ChatModel that answers a prompt it has seen from memory (the last `size` prompts).

    Only a complete reply is remembered: one whose stream was closed early (a client that left)
    or failed is asked again next time. Use it only at temperature 0, where the model's reply to
    a prompt does not change; any other attribute is the wrapped model's (its token counts).
    """

    def __init__(self, chat: ChatModel, size: int = MEMO_ENTRIES) -> None:
        self.chat = chat
        self.name = chat.name
        self._memo: Remembered[str, Any] = Remembered(size)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.chat, attribute)

    def stream(
        self, messages: Messages, fixed: int = 0, max_tokens: int | None = None
    ) -> Iterator[str]:
        key = _key("stream", messages, max_tokens)
        known = self._memo.get(key)
        if known is not None:
            if known:
                yield known
            return
        pieces: list[str] = []
        for piece in self.chat.stream(messages, fixed, max_tokens):
            pieces.append(piece)
            yield piece
        self._memo.put(key, "".join(pieces))  # reached only when the reply is complete

    def choose(self, messages: Messages, fixed: int, options: Sequence[str]) -> np.ndarray:
        key = _key("choose", messages, list(options))
        known = self._memo.get(key)
        if known is None:
            known = np.asarray(self.chat.choose(messages, fixed, options), dtype=np.float64)
            self._memo.put(key, known)
        return known.copy()

    def close(self) -> None:
        self.chat.close()
