"""The chat widget in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

Screenshots land in test-artifacts/ (or $ARTIFACTS_DIR). Without a Chromium these tests are
skipped, unless REQUIRE_BROWSER=1 (as CI sets it), where they fail instead.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from config import PROJECT_ROOT
from tests.conftest import ARTICLES
from tests.service import RunningService, free_port, running_service

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError("REQUIRE_BROWSER=1 but no chromium on PATH: apt-get install chromium")
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", PROJECT_ROOT / "test-artifacts"))
PAYLOAD = "<img src=x onerror=alert(1)>"
FIELD = Path(__file__).parent / "field"
HOSTILE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<style>* { font-size: 40px !important; color: red !important; } button { display: none; }</style>
</head><body><h1>A host page with hostile CSS</h1>
<script src="{api}/widget.js" data-api="{api}"></script></body></html>"""

FILTERED_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"></head><body>
<script src="{api}/widget.js" data-api="{api}" data-date-to="2025-03-31"
 data-sources=" a.txt, b.txt ,"></script></body></html>"""


@pytest.fixture(scope="module")
def host_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, host_port: int) -> Iterator[RunningService]:
    """The sample plus an article carrying a script payload, served; CORS open to the host page."""
    tmp = tmp_path_factory.mktemp("widget")
    payload = tmp / "quantix.txt"
    payload.write_text(
        "Quantix annonce un investissement\n"
        f"La société Quantix {PAYLOAD} annonce un investissement de 42 millions d’euros dans "
        "une usine de batteries à Lyon. Les travaux commenceront au printemps.\n",
        encoding="utf-8",
    )
    origins = f'["http://127.0.0.1:{host_port}"]'
    with running_service(tmp, [ARTICLES, payload], CORS_ORIGINS=origins) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    page = browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    page.close()


def ask(page: object, question: str) -> object:
    """Type a question, press Enter, and return the locator of the answer once it is there."""
    box = page.locator("textarea")  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")
    answer = page.locator(".msg.bot").last  # type: ignore[attr-defined]
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=20000)
    return answer


def test_demo_page_french_question_and_footnote(page: object, service: RunningService) -> None:
    page.goto(service.url + "/")  # type: ignore[attr-defined]
    expect(page.locator("#articles li")).to_have_count(6)  # type: ignore[attr-defined]
    launcher = page.locator("button.launcher")  # type: ignore[attr-defined]
    launcher.click()
    expect(page.locator("textarea")).to_be_focused()  # type: ignore[attr-defined]
    answer = ask(page, "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?")
    expect(answer).to_contain_text("D’après les articles")
    expect(answer).to_contain_text("97 milliards")
    answer.locator("button.marker").first.click()  # type: ignore[attr-defined]
    note = answer.locator(".note")  # type: ignore[attr-defined]
    expect(note).to_contain_text("001_d494c912059ead2f.txt")
    expect(note.locator("mark")).to_contain_text("97 milliards de dollars")
    highlighted = note.locator("mark").inner_text()
    assert highlighted.startswith("Dans ce qui pourrait bien") and highlighted.endswith("d’OpenAI.")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    expect(page.locator(".panel")).to_be_hidden()  # type: ignore[attr-defined]
    expect(launcher).to_be_focused()


def test_english_question_follow_up_and_abstention(page: object, service: RunningService) -> None:
    page.goto(service.url + "/")  # type: ignore[attr-defined]
    page.locator("button.launcher").click()  # type: ignore[attr-defined]
    first = ask(page, "How much did SoftBank inject into Stargate, according to Musk?")
    expect(first).to_contain_text("According to the articles")
    expect(first).to_contain_text("10 milliards")
    ask(page, "Que sait-on du projet Stargate et de SoftBank ?")
    follow_up = ask(page, "Et combien aurait-il injecté selon Musk ?")
    expect(follow_up).to_contain_text("10 milliards")
    declined = ask(page, "Quelle est la recette de la tarte Tatin ?")
    expect(declined).to_have_class(re.compile(r"\babstained\b"))
    expect(declined).to_contain_text("Les articles ne le disent pas")
    expect(page.locator(".log")).to_have_attribute("aria-live", "polite")  # type: ignore[attr-defined]


def test_a_script_in_an_article_is_shown_as_text_and_never_runs(
    page: object, service: RunningService
) -> None:
    page.goto(service.url + "/")  # type: ignore[attr-defined]
    page.locator("button.launcher").click()  # type: ignore[attr-defined]
    answer = ask(page, "Combien la société Quantix investit-elle à Lyon ?")
    expect(answer).to_contain_text(PAYLOAD)
    answer.locator("button.marker").first.click()  # type: ignore[attr-defined]
    expect(answer.locator(".note mark")).to_contain_text(PAYLOAD)  # type: ignore[attr-defined]
    images = page.evaluate(  # type: ignore[attr-defined]
        "document.querySelector('[data-cited-answers-widget]').shadowRoot"
        ".querySelectorAll('img').length"
    )
    assert images == 0 and page.dialogs == []  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def host_page(
    service: RunningService, host_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Another origin serving a page with hostile CSS that embeds the widget."""
    folder = tmp_path_factory.mktemp("host")
    (folder / "index.html").write_text(HOSTILE_PAGE.replace("{api}", service.url))
    (folder / "march.html").write_text(FILTERED_PAGE.replace("{api}", service.url))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", host_port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{host_port}/index.html"
    server.shutdown()


def test_another_origin_embeds_it_and_its_css_stays_out(page: object, host_page: str) -> None:
    page.goto(host_page)  # type: ignore[attr-defined]
    launcher = page.locator("button.launcher")  # type: ignore[attr-defined]
    expect(launcher).to_be_visible()
    assert launcher.evaluate("b => getComputedStyle(b).fontSize") == "26px"
    launcher.click()
    # No data-lang here: the interface follows the page's lang="en".
    expect(page.locator("textarea")).to_have_attribute("placeholder", "Your question…")  # type: ignore[attr-defined]
    answer = ask(page, "Who did SoftBank team up with for Stargate?")
    expect(answer).not_to_have_class(re.compile(r"\berror\b"))
    expect(answer).to_contain_text("According to the articles")


def test_the_page_filters_the_articles_the_widget_answers_from(
    page: object, host_page: str
) -> None:
    sent: list[object] = []
    page.on(  # type: ignore[attr-defined]
        "request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/ask") else None
    )
    page.goto(host_page.replace("index.html", "march.html"))  # type: ignore[attr-defined]
    page.locator("button.launcher").click()  # type: ignore[attr-defined]
    musk = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"
    declined = ask(page, musk)  # its article is dated 2025-04
    expect(declined).to_have_class(re.compile(r"\babstained\b"))
    assert sent[-1]["filters"] == {"date_to": "2025-03-31", "sources": ["a.txt", "b.txt"]}  # type: ignore[index]
    page.evaluate(  # type: ignore[attr-defined]
        "const s = document.querySelector('script[data-api]');"
        "s.removeAttribute('data-sources'); s.setAttribute('data-date-to', '2025-04-30');"
    )
    answered = ask(page, musk)
    expect(answered).to_contain_text("97 milliards")
    assert sent[-1]["filters"] == {"date_to": "2025-04-30"}  # type: ignore[index]


CUT_STREAM = 'event: delta\ndata: {"text": "D’après les articles : « Dans ce qui"}\n\n'


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (429, {"Retry-After": "7"}, "Réessayez dans 7 s"),
        (503, {}, "erreur (503)"),
        (None, {}, "injoignable"),
        (200, {"Content-Type": "text/event-stream"}, "La connexion a été coupée"),
    ],
)
def test_errors_show_a_message_and_a_retry(
    page: object, service: RunningService, status: int | None, headers: dict[str, str], message: str
) -> None:
    page.goto(service.url + "/")  # type: ignore[attr-defined]
    calls: list[str] = []

    def fault(route: object) -> None:
        calls.append("ask")
        if len(calls) > 1:
            route.continue_()  # type: ignore[attr-defined]
        elif status is None:
            route.abort("connectionreset")  # type: ignore[attr-defined]
        elif status == 200:  # the stream starts, then ends before its final answer
            route.fulfill(status=200, headers=headers, body=CUT_STREAM)  # type: ignore[attr-defined]
        else:
            route.fulfill(
                status=status,
                headers=headers,  # type: ignore[attr-defined]
                json={"error": "X", "message": "fault"},
            )

    page.route("**/ask", fault)  # type: ignore[attr-defined]
    page.locator("button.launcher").click()  # type: ignore[attr-defined]
    failed = ask(page, "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?")
    expect(failed).to_have_class(re.compile(r"\berror\b"))
    expect(failed).to_contain_text(message)
    page.locator("button.retry").click()  # type: ignore[attr-defined]
    retried = page.locator(".msg.bot").last  # type: ignore[attr-defined]
    expect(retried).to_contain_text("97 milliards", timeout=20000)


def test_service_down_gives_a_message_not_a_spinner(page: object, tmp_path: Path) -> None:
    with running_service(tmp_path, [next(ARTICLES.glob("004_*.txt"))]) as alone:
        page.goto(alone.url + "/")  # type: ignore[attr-defined]
        page.locator("button.launcher").click()  # type: ignore[attr-defined]
        alone.stop()
        failed = ask(page, "Qu'est-ce que le projet Stargate ?")
    expect(failed).to_have_class(re.compile(r"\berror\b"))
    expect(failed).to_contain_text("Le service est injoignable")
    expect(page.locator("button.retry")).to_be_focused()  # type: ignore[attr-defined]


EMOJI = re.compile("[\U0001f000-\U0001ffff]")
F23_QUESTION = "Combien de visiteurs le festival des Lanternes de Quimperlé a-t-il attirés ?"


def test_the_mark_is_the_cited_sentence_when_emoji_come_before_it(
    page: object, tmp_path: Path
) -> None:
    """F23: citation offsets count code points; an emoji (two UTF-16 units) before the cited
    sentence used to shift the <mark> one unit per emoji, even into a surrogate pair."""
    with running_service(tmp_path, [next(ARTICLES.glob("004_*.txt"))]) as served:
        field = FIELD / "f23_festival_emoji_marqueurs.txt"
        added = httpx.post(
            served.url + "/documents",
            files={"file": (field.name, field.read_bytes(), "text/plain")},
            timeout=60,
        )
        assert added.status_code == 201, added.text
        body = httpx.post(served.url + "/ask", json={"question": F23_QUESTION}, timeout=60).json()
        citation = next(c for c in body["citations"] if c["marker"] == 1)
        assert citation["doc_id"] == added.json()["doc_id"]

        page.goto(served.url + "/")  # type: ignore[attr-defined]
        page.locator("button.launcher").click()  # type: ignore[attr-defined]
        answer = ask(page, F23_QUESTION)
        expect(answer).to_contain_text("86 000 visiteurs")
        answer.locator("button.marker").first.click()  # type: ignore[attr-defined]
        mark = answer.locator(".note mark")  # type: ignore[attr-defined]
        expect(mark).to_be_visible()
        highlighted = mark.inner_text()
        before = mark.evaluate("m => m.previousSibling.textContent")
    assert highlighted == citation["text"]
    assert EMOJI.search(before), before
