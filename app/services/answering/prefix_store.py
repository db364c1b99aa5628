"""A job's evaluated prefix kept on disk, so that a restarted service does not evaluate it again.

The local model evaluates each job's rules and examples once (`local_model.py`); that is 270 to
920 tokens a job, about 39 s for the five jobs on two cores here, and a service that has just
started makes its first questions wait behind it. The model's memory of a prefix (the KV cache
of sequence 0, 8 to 27 MB a job in f16) is the same bytes for the same model file, context size,
llama.cpp build and tokens, so it is saved under a name made of those and read back at the next
start in a fraction of a second. The service reads it from there each time the job comes round
again (5 to 25 ms), rather than hold the five in a worker's memory (82 MB).

A file is written whole or not at all (written aside, then renamed), and holds the sha256 of its
bytes: a damaged file is ignored and the prefix evaluated again. Workers sharing the folder may
write the same file at once; each rename is whole, and both wrote the same bytes. A file that no
start has read for STALE_DAYS (its prompt has since changed) is removed when another is saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("app")

_DIGEST = 32  # bytes of sha256 before the state
LARGEST = 1 << 30  # bytes: a 1.5B model's state after 920 tokens is 26 MB
STALE_DAYS = 30


class PrefixStore:
    """Saved prefix states in `folder` for one model: `identity` names everything besides the
    tokens that the state depends on (the model file, the context size, the llama.cpp build).
    Never raises for the disk: a state it cannot read or write is evaluated instead."""

    def __init__(self, folder: Path, identity: str) -> None:
        self.folder = folder
        self._identity = identity.encode()
        self._warned = False
        self._checked: dict[Path, tuple[int, int]] = {}  # files whose sha256 was right
        self._buffer = bytearray()

    @staticmethod
    def identity(model: Path, *, context: int, build: str) -> str:
        """The model file (resolved path, size, modification time), context and build."""
        stat = model.stat()
        return f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{context}|{build}"

    def path(self, tokens: Sequence[int]) -> Path:
        """The file of the state after `tokens` (a job's prefix)."""
        digest = hashlib.sha256(self._identity)
        digest.update(b"|" + ",".join(map(str, tokens)).encode())
        return self.folder / f"{digest.hexdigest()[:32]}.kv"

    def load(self, tokens: Sequence[int]) -> memoryview | None:
        """The saved state after `tokens`, or None (never saved, unreadable or damaged): a view
        of the store's one reading buffer, valid until the next load (a fresh 26 MB buffer a
        load would stay in the worker's memory once freed). Its sha256 is checked the first
        time a file is read (30 ms for 26 MB), and again if the file changes; that first read
        also marks the file as in use (its time), so that `save` does not prune it."""
        path = self.path(tokens)
        if path not in self._checked:
            with contextlib.suppress(OSError):  # a folder this worker may only read
                os.utime(path)
        try:
            with path.open("rb") as file:
                stat = os.fstat(file.fileno())
                if stat.st_size > LARGEST:
                    raise OSError(f"{stat.st_size} bytes is no prompt cache")
                if len(self._buffer) < stat.st_size:
                    self._buffer = bytearray(stat.st_size)
                view = memoryview(self._buffer)[: stat.st_size]
                read = file.readinto(view)
        except OSError:
            return None
        state, digest = view[_DIGEST:read], view[:_DIGEST]
        if read != stat.st_size or not state:
            return None
        if self._checked.get(path) != (stat.st_size, stat.st_mtime_ns):
            if hashlib.sha256(state).digest() != digest:
                log.warning("ignoring a damaged prompt cache file: %s", path)
                return None
            self._checked[path] = (stat.st_size, stat.st_mtime_ns)
        return state

    def save(self, tokens: Sequence[int], state: bytes) -> bool:
        """Keep `state` (for the next call and the next start); False if the folder cannot be
        written, which is reported once. Files no start has read for STALE_DAYS (a prompt
        since changed, another model) and leftovers of a killed writer are removed."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        except OSError as exc:
            return self._cannot_write(exc)
        try:
            with os.fdopen(handle, "wb") as file:
                os.fchmod(file.fileno(), 0o644)  # workers may run as other users
                file.write(hashlib.sha256(state).digest() + state)
            os.replace(temporary, self.path(tokens))
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            return self._cannot_write(exc)
        self._prune()
        return True

    def _prune(self) -> None:
        now = time.time()
        for path in self.folder.iterdir():
            days = {".kv": STALE_DAYS, ".tmp": 1}.get(path.suffix)
            try:
                if days is not None and now - path.stat().st_mtime > days * 86_400:
                    path.unlink()
            except OSError:
                pass  # another worker removed it, or it is not ours to remove

    def _cannot_write(self, exc: OSError) -> bool:
        if not self._warned:
            log.warning("cannot keep the model's prompt cache in %s: %s", self.folder, exc)
            self._warned = True
        return False
