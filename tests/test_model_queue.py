"""The model's queue: turns in arrival order, a wait limit, the running estimate of a turn;
the start-up warm-up taking its turns in it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.services.answering.extractive import ExtractiveGenerator
from app.services.answering.generative import GenerativeGenerator
from app.services.answering.model_queue import ModelQueue, QueueFull
from tests.conftest import make_settings
from vectorstore import Embedder


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


class SlowWarmChat:
    """A chat model whose warm-up of each job waits for the test's go-ahead (a fake: the real
    model's warm-up is timed by the machine, not by the test; `test_reader.py` asks the real
    one's state through /health)."""

    name = "local"

    def __init__(self) -> None:
        self.warmed = 0
        self.closed = False
        self.go = threading.Semaphore(0)

    def warm(self, messages: object, fixed: int) -> None:
        assert self.go.acquire(timeout=5), "the test never let the warm-up go on"
        self.warmed += 1

    def close(self) -> None:
        self.closed = True


def test_a_question_during_the_warm_up_waits_for_one_job_s_rules_not_all(
    embedder: Embedder, tmp_path: Path
) -> None:
    """The warm-up takes a turn per job: a question joining the line while the first job is
    evaluated has its turn right after it; /health's state is "warming" until the end."""
    chat = SlowWarmChat()
    queue = ModelQueue(limit=2.0, first_estimate=0.01)  # QueueFull if it waited for every job
    extractive = ExtractiveGenerator(make_settings(tmp_path))
    reader = GenerativeGenerator(chat, embedder, extractive, queue)  # type: ignore[arg-type]
    warming = reader.warm_in_background()
    assert reader.model_state() == "warming"
    while queue.waiting < 1:  # the first job holds the model
        time.sleep(0.001)
    turns: list[tuple[int, bool, str]] = []

    def ask() -> None:
        with queue.turn():
            turns.append((chat.warmed, warming.is_alive(), reader.model_state()))

    question = threading.Thread(target=ask)
    question.start()
    while queue.waiting < 2:  # the question waits behind the first job
        time.sleep(0.001)
    chat.go.release()
    question.join(5)
    assert turns == [(1, True, "warming")]  # its turn came after one job, not five
    for _ in range(4):
        chat.go.release()
    warming.join(5)
    assert chat.warmed == 5 and reader.model_state() == "ready"


def test_the_warm_up_s_turns_leave_the_estimate_of_a_turn_alone(
    embedder: Embedder, tmp_path: Path
) -> None:
    """Read from disk, a job's warm-up takes 50 ms: timed, five of them would have the next
    questions expect almost no wait, and join a line they then leave at the limit."""
    chat = SlowWarmChat()
    queue = ModelQueue(limit=20.0, first_estimate=6.0)
    extractive = ExtractiveGenerator(make_settings(tmp_path))
    reader = GenerativeGenerator(chat, embedder, extractive, queue)  # type: ignore[arg-type]
    for _ in range(5):
        chat.go.release()
    reader.warm()
    assert chat.warmed == 5 and queue.turn_seconds == 6.0


def test_a_service_closed_during_the_warm_up_warms_no_further(
    embedder: Embedder, tmp_path: Path
) -> None:
    chat = SlowWarmChat()
    queue = ModelQueue(limit=10.0, first_estimate=0.01)
    extractive = ExtractiveGenerator(make_settings(tmp_path))
    reader = GenerativeGenerator(chat, embedder, extractive, queue)  # type: ignore[arg-type]
    warming = reader.warm_in_background()
    while queue.waiting < 1:
        time.sleep(0.001)
    closing = threading.Thread(target=reader.close)
    closing.start()
    while queue.waiting < 2:  # close() waits behind the first job
        time.sleep(0.001)
    chat.go.release()
    closing.join(5)
    warming.join(5)
    assert chat.warmed == 1 and not warming.is_alive() and chat.closed
