"""One model, many questions: turns taken in arrival order, and a limit on the wait.

A model on a laptop CPU answers one question at a time in a few seconds. Requests queue for it
in the order they came (a ticket lock: no request is overtaken). Before joining, a request is
told its expected wait, (requests ahead + 1) x the mean time a turn has taken lately; past the
limit (`LLM_QUEUE_SECONDS`) it does not join, and the service gives the instant extractive
answer instead, flagged. A request that joined but still waits past the limit leaves the queue
the same way, so no one waits much longer than the limit whatever the estimate said.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from vectorstore import ServiceError

_SMOOTHING = 0.3  # weight of the newest turn in the running mean of turn times


class QueueFull(ServiceError):
    """The model is busy for longer than a question may wait; the message says how long."""

    status_code = 503


class ModelQueue:
    """A fair lock with a wait limit: `limit` seconds (0: never wait), `first_estimate` the
    seconds a turn is assumed to take until one has been timed."""

    def __init__(self, limit: float, first_estimate: float = 6.0) -> None:
        self.limit = limit
        self.turn_seconds = first_estimate
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._skipped: set[int] = set()

    @property
    def waiting(self) -> int:
        """Requests holding or waiting for a turn."""
        return self._next_ticket - self._serving - len(self._skipped)

    def expected_wait(self) -> float:
        """Seconds a request joining now would wait before its turn."""
        return self.waiting * self.turn_seconds

    @contextmanager
    def turn(self, limit: float | None = None, *, timed: bool = True) -> Iterator[None]:
        """Hold the model for the block; QueueFull if the wait is, or turns out, longer than
        `limit` seconds (default: the queue's limit; math.inf to wait whatever it takes).
        A turn that is not `timed` leaves the estimate alone: the start-up warm-up's turns
        take 50 ms each once read from disk, and would have the next questions expect none."""
        limit = self.limit if limit is None else limit
        with self._condition:
            expected = self.expected_wait()
            if self.waiting and expected > limit:
                raise QueueFull(_busy(expected, limit))
            ticket = self._next_ticket
            self._next_ticket += 1
            deadline = time.monotonic() + limit
            while self._serving != ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._abandon(ticket)
                    raise QueueFull(_busy(limit, limit))
                self._condition.wait(min(left, 3600.0))
        started = time.monotonic()
        try:
            yield
        finally:
            with self._condition:
                if timed:
                    took = time.monotonic() - started
                    self.turn_seconds += _SMOOTHING * (took - self.turn_seconds)
                self._advance()

    def _abandon(self, ticket: int) -> None:
        """Leave the line: later tickets keep their order, the abandoned one is skipped."""
        self._skipped.add(ticket)

    def _advance(self) -> None:
        self._serving += 1
        while self._serving in self._skipped:
            self._skipped.discard(self._serving)
            self._serving += 1
        self._condition.notify_all()


def _busy(seconds: float, limit: float) -> str:
    return (
        f"the model is busy (about {seconds:.0f} s to wait, over the {limit:.0f} s limit): "
        "the answer quotes the articles instead"
    )
