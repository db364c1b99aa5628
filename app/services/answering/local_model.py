"""A GGUF model in this process (llama-cpp-python): the reader's yes/no judgements and its writing.

Every job the model does starts with the same messages (its rules and worked examples): their
tokens are evaluated once per job and the model's memory of them (the KV cache of sequence 0) is
kept on disk (`prefix_store.py`), so a call evaluates only what differs: the question and its
sentences. Prompt evaluation
costs about 12 ms a token on two cores here (`shared/MODELS.md`: 86 tokens/s), so a few-shot
prefix of 400 tokens would cost about 5 s on every call without this.

A judgement generates nothing: the prompt is evaluated and the logits of the first token of the
reply are read, one per option ("0".."9", or "Yes"/"No"), and turned into probabilities (softmax
over the options only).
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.services.answering.chat import Messages, ModelUnavailable
from app.services.answering.prefix_store import PrefixStore


class LocalModel:
    """One GGUF chat model, loaded once; not thread-safe (the caller's queue serialises calls).

    `path` is the .gguf file; `context` the window in tokens; `threads` CPU threads (None: all
    cores); `gpu_layers` layers offloaded to a GPU (0 on a CPU-only machine, -1 all); `mmap`
    maps the file instead of reading it (`LLM_MMAP` in `config/settings.py`: what it costs);
    `prefix_dir` keeps each job's evaluated prefix on disk for the next start (`prefix_store.py`).
    Raises ModelUnavailable when llama-cpp-python is missing or the file cannot be loaded.
    """

    def __init__(
        self,
        path: Path,
        *,
        name: str,
        context: int,
        threads: int | None,
        gpu_layers: int,
        mmap: bool,
        max_tokens: int,
        temperature: float,
        prefix_dir: Path | None = None,
    ) -> None:
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ModelUnavailable(
                "the local model needs llama-cpp-python: pip install -e '.[llm]' "
                "(it compiles; allow a few minutes)"
            ) from exc
        if not path.is_file():
            raise ModelUnavailable(f"the model file {path} does not exist (LLM_MODEL_PATH)")
        self.name = name
        self._lib = llama_cpp
        try:
            self._llm: Any = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=context,
                n_threads=threads or os.cpu_count() or 2,
                n_gpu_layers=gpu_layers,
                use_mmap=mmap,
                verbose=False,
            )
        except ValueError as exc:
            raise ModelUnavailable(f"the model file {path} could not be loaded: {exc}") from exc
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelUnavailable(f"the model file {path} has no chat template")
        eos = self._llm.detokenize([self._llm.token_eos()]).decode(errors="ignore")
        self._format: Any = Jinja2ChatFormatter(template, eos_token=eos, bos_token="")
        self._format_prefix: Any = Jinja2ChatFormatter(
            template, eos_token=eos, bos_token="", add_generation_prompt=False
        )
        self._saved: dict[tuple[int, ...], bytes] = {}
        self._prefixes = None
        if prefix_dir is not None:
            build = getattr(llama_cpp, "__version__", "?")
            identity = PrefixStore.identity(path, context=context, build=build)
            self._prefixes = PrefixStore(prefix_dir, identity)
        self._max_tokens = max_tokens
        self._temperature = temperature
        self.prompt_tokens = 0  # evaluated, for the latency breakdown in the logs and bench
        self.generated_tokens = 0

    def choose(self, messages: Messages, fixed: int, options: Sequence[str]) -> np.ndarray:
        """The probability that the reply starts with each option, shape (len(options),), sum 1.

        `fixed` is how many leading messages every call of this job shares (kept evaluated);
        each option should be one token (a digit, "Yes", "No").
        """
        tokens = self._prepare(messages, fixed)
        self._evaluate(tokens)
        n_vocab = self._llm.n_vocab()
        logits = np.ctypeslib.as_array(self._llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
        chosen = logits[[self._first_token(option) for option in options]].astype(np.float64)
        odds = np.exp(chosen - chosen.max())
        return odds / odds.sum()

    def stream(
        self, messages: Messages, fixed: int = 0, max_tokens: int | None = None
    ) -> Iterator[str]:
        """The model's reply, piece by piece (greedy at temperature 0); closing stops it."""
        tokens = self._prepare(messages, fixed)
        limit = max_tokens or self._max_tokens
        if len(tokens) + limit > self._llm.n_ctx():
            raise ModelUnavailable(
                f"the local model could not answer: the prompt ({len(tokens)} tokens) leaves no "
                f"room for the answer in LLM_CONTEXT ({self._llm.n_ctx()})"
            )
        self.prompt_tokens += len(tokens) - self._llm.n_tokens
        pieces = self._llm.create_completion(
            prompt=tokens, max_tokens=limit, temperature=self._temperature, stream=True
        )
        try:
            for chunk in pieces:
                self.generated_tokens += 1
                text = chunk["choices"][0]["text"]
                if text:
                    yield text
        finally:
            pieces.close()

    def warm(self, messages: Messages, fixed: int) -> None:
        """Evaluate and keep the job's fixed prefix now, so that no question waits for it."""
        self._prepare(messages, fixed)

    def _prepare(self, messages: Messages, fixed: int) -> list[int]:
        """The prompt's tokens, with the model's memory set to its fixed prefix (restored from
        its copy on disk, or in memory where the disk cannot keep it; evaluated and saved the
        first time)."""
        prefix_text = self._format_prefix(messages=messages[:fixed]).prompt
        full_text = self._format(messages=messages).prompt
        if not full_text.startswith(prefix_text):  # a template that rewrites earlier turns
            return self._tokenize(full_text, first=True)
        prefix = self._prefix_tokens(prefix_text)
        tokens = prefix + self._tokenize(full_text[len(prefix_text) :], first=False)
        if self._common(tokens) >= len(prefix):
            return tokens
        key = tuple(prefix)
        stored: bytes | memoryview | None = self._saved.get(key)
        if stored is None and self._prefixes is not None:
            stored = self._prefixes.load(prefix)
        if stored is None or not self._restores(prefix, stored):
            self._llm.n_tokens = 0
            self._evaluate(prefix)
            state = self._save()
            # Kept in memory only where the disk cannot keep it: 82 MB of a worker's RSS.
            if self._prefixes is None or not self._prefixes.save(prefix, state):
                self._saved[key] = state
        return tokens

    def _restores(self, prefix: list[int], state: bytes | memoryview) -> bool:
        """Whether `state` restored the model's memory of `prefix` (if not, it is evaluated)."""
        try:
            self._restore(prefix, state)
        except ModelUnavailable:
            return False
        return True

    def _evaluate(self, tokens: list[int]) -> None:
        """Evaluate what of `tokens` is not already in memory (at least the last token)."""
        if len(tokens) > self._llm.n_ctx():
            raise ModelUnavailable(
                f"the local model could not answer: the prompt ({len(tokens)} tokens) is "
                f"longer than LLM_CONTEXT ({self._llm.n_ctx()})"
            )
        keep = min(self._common(tokens), len(tokens) - 1)
        self._llm.n_tokens = keep
        self.prompt_tokens += len(tokens) - keep
        self._llm.eval(tokens[keep:])

    def _common(self, tokens: list[int]) -> int:
        """How many leading tokens of `tokens` the model's memory already holds."""
        held = self._llm.input_ids[: self._llm.n_tokens]
        n = min(len(held), len(tokens))
        if n == 0:
            return 0
        differ = np.nonzero(held[:n] != np.asarray(tokens[:n]))[0]
        return int(differ[0]) if len(differ) else n

    def _save(self) -> bytes:
        ctx = self._llm._ctx.ctx
        size = self._lib.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = self._lib.llama_state_seq_get_data(ctx, buffer, size, 0)
        return bytes(buffer)[:written]

    def _restore(self, prefix: list[int], state: bytes | memoryview) -> None:
        size = len(state)
        if isinstance(state, memoryview) and not state.readonly:  # the store's buffer, in place
            buffer = (ctypes.c_uint8 * size).from_buffer(state)
        else:
            buffer = (ctypes.c_uint8 * size).from_buffer_copy(state)
        self._llm._ctx.kv_cache_seq_rm(0, 0, -1)
        if not self._lib.llama_state_seq_set_data(self._llm._ctx.ctx, buffer, len(state), 0):
            raise ModelUnavailable("the local model could not restore its prompt cache")
        self._llm.input_ids[: len(prefix)] = prefix
        self._llm.n_tokens = len(prefix)

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one model per process, a prefix per job
    def _prefix_tokens(self, prefix_text: str) -> list[int]:
        """A job's fixed prefix, tokenized once (it is the same on every call)."""
        return self._tokenize(prefix_text, first=True)

    def _tokenize(self, text: str, *, first: bool) -> list[int]:
        return list(self._llm.tokenize(text.encode(), add_bos=first, special=True))

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one model per process, options are few
    def _first_token(self, word: str) -> int:
        return int(self._llm.tokenize(word.encode(), add_bos=False, special=False)[0])

    def close(self) -> None:
        self._llm.close()
