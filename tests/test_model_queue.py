"""The model's queue: turns in arrival order, a wait limit, the running estimate of a turn."""

from __future__ import annotations

import threading
import time

import pytest

from app.services.answering.model_queue import ModelQueue, QueueFull


def test_turns_are_taken_in_arrival_order() -> None:
    queue = ModelQueue(limit=10.0, first_estimate=0.01)
    order: list[int] = []

    def take(n: int) -> None:
        with queue.turn():
            order.append(n)

    with queue.turn():
        threads = []
        for n in range(5):
            thread = threading.Thread(target=take, args=(n,))
            thread.start()
            threads.append(thread)
            while queue.waiting < n + 2:  # each joins the line before the next starts
                time.sleep(0.001)
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_newcomer_whose_expected_wait_is_past_the_limit_is_refused_at_once() -> None:
    queue = ModelQueue(limit=5.0, first_estimate=8.0)
    with queue.turn():
        started = time.monotonic()
        refused = pytest.raises(QueueFull, match="about 8 s to wait, over the 5 s limit")
        with refused, queue.turn():
            pass
        assert time.monotonic() - started < 0.1
    with queue.turn():  # the line is free again
        assert queue.waiting == 1


def test_a_request_that_waits_past_the_limit_leaves_and_the_line_moves_on() -> None:
    queue = ModelQueue(limit=0.2, first_estimate=0.0)
    release = threading.Event()
    served: list[str] = []

    def hold() -> None:
        with queue.turn():
            release.wait(5)
            served.append("first")

    holder = threading.Thread(target=hold)
    holder.start()
    while queue.waiting < 1:
        time.sleep(0.001)
    started = time.monotonic()
    with pytest.raises(QueueFull), queue.turn():
        served.append("never")
    assert 0.15 < time.monotonic() - started < 1.0
    release.set()
    holder.join(5)
    with queue.turn(limit=1.0):
        served.append("after")
    assert served == ["first", "after"] and queue.waiting == 0


def test_the_estimate_follows_the_turns_taken() -> None:
    queue = ModelQueue(limit=10.0, first_estimate=1.0)
    for _ in range(10):
        with queue.turn():
            time.sleep(0.02)
    assert queue.turn_seconds < 0.1
