"""A job's evaluated prefix kept on disk: the file, and a real model (SmolLM2 through the same
`LocalModel` the bundled reader uses) that starts the second time without evaluating it."""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from app.services.answering import prefix_store
from app.services.answering.generative import answerability_messages, writer_messages
from app.services.answering.local_model import LocalModel
from app.services.answering.prefix_store import PrefixStore

PREFIX = [151644, 8948, 198, 2610, 525, 264, 10950]
STATE = bytes(range(256)) * 40


def test_a_saved_state_is_read_back_for_the_same_model_and_prefix_only(tmp_path: Path) -> None:
    store = PrefixStore(tmp_path / "prefixes", "model-a|4096|0.3.16")
    assert store.load(PREFIX) is None
    store.save(PREFIX, STATE)
    loaded = store.load(PREFIX)
    assert loaded is not None and bytes(loaded) == STATE
    assert store.load(PREFIX[:-1]) is None
    assert PrefixStore(tmp_path / "prefixes", "model-b|4096|0.3.16").load(PREFIX) is None
    assert [p.suffix for p in (tmp_path / "prefixes").iterdir()] == [".kv"]  # no leftovers


def test_states_read_one_after_another_are_each_their_own(tmp_path: Path) -> None:
    """The store reads into one buffer: each load gives the state asked for, whatever size
    the one before it had."""
    store = PrefixStore(tmp_path, "model-a")
    short, long = STATE[:3000], STATE[::-1]
    store.save(PREFIX, long)
    store.save(PREFIX[:3], short)
    for tokens, state in [(PREFIX, long), (PREFIX[:3], short), (PREFIX, long)]:
        loaded = store.load(tokens)
        assert loaded is not None and bytes(loaded) == state


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_damaged_file_is_not_read_back(tmp_path: Path, damage: str) -> None:
    store = PrefixStore(tmp_path, "model-a")
    store.save(PREFIX, STATE)
    path = store.path(PREFIX)
    data = bytearray(path.read_bytes())
    match damage:
        case "flip":
            data[1000] ^= 1
        case "truncate":
            del data[-10:]
        case "empty":
            data.clear()
    path.write_bytes(bytes(data))
    assert store.load(PREFIX) is None


def test_a_folder_that_cannot_be_written_is_reported_once_and_costs_nothing_else(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = PrefixStore(blocker / "prefixes", "model-a")
    with caplog.at_level(logging.WARNING, logger="app"):
        assert store.save(PREFIX, STATE) is False
        assert store.save(PREFIX[:3], STATE) is False
    assert [r.getMessage().startswith("cannot keep") for r in caplog.records] == [True]


def smollm(prefix_dir: Path) -> LocalModel:
    """SmolLM2-135M through the bundled reader's class: small, so it loads in a second."""
    pytest.importorskip("llama_cpp", reason="the 'llm' extra is not installed")
    from tests.test_generative import smollm_path

    return LocalModel(
        smollm_path(),
        name="local",
        context=2048,
        threads=2,
        gpu_layers=0,
        mmap=True,
        max_tokens=16,
        temperature=0.0,
        prefix_dir=prefix_dir,
    )


def test_files_no_start_has_read_for_a_month_are_removed_when_another_is_saved(
    tmp_path: Path,
) -> None:
    store = PrefixStore(tmp_path, "model-a")
    store.save(PREFIX, STATE)
    old_prompt = tmp_path / ("0" * 32 + ".kv")
    left_by_a_killed_writer = tmp_path / "tmpabc.tmp"
    for path in (old_prompt, left_by_a_killed_writer):
        path.write_bytes(b"x" * 100)
    in_use = store.path(PREFIX)
    month_ago = time.time() - 40 * 86_400
    for path in (old_prompt, left_by_a_killed_writer, in_use):
        os.utime(path, (month_ago, month_ago))
    assert PrefixStore(tmp_path, "model-a").load(PREFIX) is not None  # a start reads it
    assert store.save(PREFIX[:3], STATE)
    assert sorted(tmp_path.iterdir()) == sorted([in_use, store.path(PREFIX[:3])])
    assert stat.S_IMODE(in_use.stat().st_mode) == 0o644  # workers may run as other users


def test_a_file_too_large_to_be_a_state_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PrefixStore(tmp_path, "model-a")
    store.save(PREFIX, STATE)
    monkeypatch.setattr(prefix_store, "LARGEST", len(STATE))  # the file holds 32 bytes more
    assert PrefixStore(tmp_path, "model-a").load(PREFIX) is None


def test_the_model_started_again_reads_its_prefix_instead_of_evaluating_it(
    tmp_path: Path,
) -> None:
    job = answerability_messages("Combien ?", "Elon Musk a proposé 97 milliards de dollars.")
    options = [str(n) for n in range(10)]
    first = smollm(tmp_path)
    first.warm(*job)
    evaluated = first.prompt_tokens
    judged = first.choose(*job, options)
    first.close()
    assert evaluated > 200 and len(list(tmp_path.glob("*.kv"))) == 1

    again = smollm(tmp_path)
    again.warm(*job)
    assert again.prompt_tokens == 0  # read from the disk, not evaluated
    np.testing.assert_allclose(again.choose(*job, options), judged, atol=1e-6)
    again.close()

    saved = next(tmp_path.glob("*.kv"))
    saved.write_bytes(saved.read_bytes()[:-100])  # damaged: evaluated again, then saved whole
    third = smollm(tmp_path)
    third.warm(*job)
    assert third.prompt_tokens == evaluated
    np.testing.assert_allclose(third.choose(*job, options), judged, atol=1e-6)
    third.close()
    fourth = smollm(tmp_path)
    fourth.warm(*job)
    assert fourth.prompt_tokens == 0  # the damaged file was written whole again
    fourth.close()


def test_a_model_whose_folder_cannot_be_written_keeps_its_prefixes_in_memory(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    model = smollm(blocker / "prefixes")
    judge = answerability_messages("Combien ?", "Elon Musk a proposé 97 milliards de dollars.")
    write = writer_messages("How much?", "en", [("Elon Musk a proposé 97 milliards.", "T")])
    model.warm(*judge)
    model.warm(*write)  # another job's prefix in the model's memory
    evaluated = model.prompt_tokens
    model.warm(*judge)
    assert evaluated > 400 and model.prompt_tokens == evaluated  # restored, not evaluated
    model.close()
