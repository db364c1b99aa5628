"""The reader for real: the bundled Qwen2.5-Coder-1.5B-Instruct in this process (the default
backend), over the sample and the field cases (tests/field/), through the REST API.

Each answer takes a few seconds on two cores; the service is built once for the module.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from app.services.language import detect_language
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLES, make_settings
from vectorstore import ChromaStore, Embedder

pytest.importorskip("llama_cpp", reason="the 'llm' extra is not installed")

FIELD = Path(__file__).parent / "field"
MUSK_FR = "Combien Elon Musk a-t-il proposé pour prendre le contrôle d'OpenAI ?"
MUSK_EN = "How much did Elon Musk offer to take control of OpenAI?"


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    # No question falls back for waiting behind the start-up warm-up on a slow or busy machine;
    # the queue's own test sets its limit.
    settings = make_settings(
        tmp_path_factory.mktemp("reader"), llm_backend="local", llm_queue_seconds=600
    )
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    ingest_paths([ARTICLES, FIELD], store, embedder, settings)
    with TestClient(create_app(settings)) as client:
        yield client


def test_health_says_when_the_model_has_warmed_up(reader: TestClient) -> None:
    """ "warming" while the model evaluates its jobs' rules after start-up (about a second when
    they are kept on disk from an earlier start, as here after the first test run), then
    "ready"; `status` is "ready" all along (/search and the fallback serve meanwhile)."""
    states = []
    for _ in range(600):
        body = reader.get("/health").json()
        assert body["status"] == "ready" and body["backend"] == "local"
        states.append(body["model"])
        if states[-1] == "ready":
            break
        time.sleep(0.2)
    assert set(states) <= {"warming", "ready"} and states[-1] == "ready", states[-5:]


def ask(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cited(body: dict[str, Any]) -> str:
    return " ".join(c["text"] for c in body["citations"])


def test_a_french_question_is_answered_by_the_model_in_french(reader: TestClient) -> None:
    body = ask(reader, MUSK_FR)
    assert body["backend"] == "local" and not body["fallback"] and not body["abstained"]
    assert "97 milliards" in body["answer"] and "97 milliards" in cited(body)
    assert re.search(r"\[1\]", body["answer"]) and detect_language(body["answer"]) == "fr"


def test_an_english_question_over_french_articles_is_answered_in_english(
    reader: TestClient,
) -> None:
    body = ask(reader, MUSK_EN)
    assert body["backend"] == "local" and not body["abstained"]
    assert re.search(r"97\s*billion", body["answer"]), body["answer"]
    assert detect_language(re.sub(r"\[\d+\]", "", body["answer"])) == "en"
    assert "97 milliards" in cited(body)  # the citation is the French sentence it rests on
    # The cited sentence translated, which keeps the model's figure and names (`final_text`).
    assert body["answer"].startswith("According to the articles:"), body["answer"]


def test_an_openai_client_streams_the_reader_s_verified_answer(reader: TestClient) -> None:
    client = openai.OpenAI(base_url="http://testserver/v1", api_key="-", http_client=reader)
    chunks = list(
        client.chat.completions.create(
            model="cited-news", messages=[{"role": "user", "content": MUSK_EN}], stream=True
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    outcome: dict[str, Any] = chunks[-1].model_extra or {}
    assert re.search(r"97\s*billion", content) and "[1]" in content, content
    assert outcome["fallback"] is False and outcome["abstained"] is False
    assert "97 milliards" in outcome["citations"][0]["text"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", content)}
    assert markers == {c["marker"] for c in outcome["citations"]}


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Combien a coûté la rénovation du funiculaire de Corvenne ?", "19 millions"),
        ("Combien de lanternes ont été lâchées au festival de Quimperlé ?", "4 200"),
    ],
)
def test_f20_the_sentence_stating_the_fact_is_the_one_cited(
    reader: TestClient, question: str, fact: str
) -> None:
    body = ask(reader, question)
    assert not body["abstained"] and fact in body["answer"] and fact in cited(body), body


def test_f20_an_english_answer_leaves_no_french_in_it(reader: TestClient) -> None:
    """The model's words had kept the sentence's French ("4 200 lanternes biodégradables
    were released at the Quimperlé festival [1]"), and the translation of the sentence, which
    does not name Quimperlé, had been refused: the question names it already."""
    body = ask(reader, "How many lanterns were released at the Quimperlé festival?")
    assert not body["abstained"] and re.search(r"4[ ,.\u202f]?200", body["answer"]), body
    assert "lanternes" not in body["answer"] and "lantern" in body["answer"], body["answer"]


def test_f23_an_english_sentence_naming_a_french_town_is_read_as_english(
    reader: TestClient,
) -> None:
    """The model's "The Quimperlé Lantern Festival attracted 86 000 visitors in three nights
    [1]." was read as French (the accent of the name against "the" and "in"), its terms
    compared word for word with the French sentence, and removed: the answer was the
    extractive fallback. An English question naming two such places was answered in French."""
    body = ask(reader, "How many visitors did the Quimperlé Lantern Festival attract?")
    assert not body["fallback"] and not body["unsupported"], body
    assert re.search(r"86[ ,.\u202f]?000", body["answer"]) and "visitors" in body["answer"], body
    body = ask(reader, "Who organises the Quimperlé Lantern Festival in Quimperlé-sur-Laïta?")
    assert body["language"] == "en" and detect_language(body["answer"]) == "en", body


@pytest.mark.parametrize(
    "question",
    [
        "Combien coûte le péage du pont de Kerlouan ?",
        # "Le pont de Kerlouan fermé six mois pour travaux" holds a figure, not a price.
        "How much is the toll on the Kerlouan bridge?",
        # The model judges the "prévoit d'embaucher 340" sentence answers (0.69): the time
        # frame is told by `QuestionProfile.in_its_time_frame`, so no candidate is left.
        "Combien de salariés travaillaient à l'usine d'Hérouville-les-Forges avant sa fermeture ?",
        "How many employees worked at the Hérouville-les-Forges factory before it closed?",
        "Quel était le prix de l'inscription au marathon de Lunel-Viel ?",
    ],
)
def test_f19_a_figure_that_answers_something_else_is_no_answer(
    reader: TestClient, question: str
) -> None:
    body = ask(reader, question)
    assert body["abstained"] and body["citations"] == [], body["answer"]


@pytest.mark.parametrize(
    ("question", "fact", "source", "wrong"),
    [
        # F10 asked in English: "votes" / "voix" are far apart as single words (0.62), and the
        # row was never a candidate; the model reads it, and its figure is the one quoted.
        ("How many votes did the Agir pour Castelmoron list get?", r"\b2073\b", "2073", "2184"),
        # F05 asked in English: "cup" / "gobelet" 0.45.
        (
            "How much did a cup of mulled wine cost at the Saint-Aubrac Christmas market?",
            r"\b4 (?:euros?|€)",
            "4 €",
            "3.1",
        ),
    ],
)
def test_an_english_count_or_price_of_a_thing_worded_apart_in_french_is_answered(
    reader: TestClient, question: str, fact: str, source: str, wrong: str
) -> None:
    body = ask(reader, question)
    assert not body["abstained"] and re.search(fact, body["answer"]), body
    assert source in cited(body) and wrong not in body["answer"], body


def test_a_figure_the_model_invents_over_such_candidates_is_no_answer(reader: TestClient) -> None:
    """No sentence gives the shuttle's seats; the model wrote "1,500 seats", which no
    candidate states (the fare is "1,50 euro"): nothing is quoted for it."""
    body = ask(reader, "How many seats does the Kerbihan river shuttle have?")
    assert body["abstained"] and body["citations"] == [], body


def test_how_often_is_answered_with_the_frequency_or_not_at_all(reader: TestClient) -> None:
    """The model had been shown the headline, the launch and the fare, none saying how often
    the shuttle runs; it wrote "runs every day", which the checks removed, and the fallback
    quoted the headline and the launch. Asked in English, the sentence stating it scores under
    the abstention threshold (its vector is far from the question's: cosine 0.13)."""
    body = ask(reader, "À quelle fréquence circule la navette fluviale de Kerbihan ?")
    assert not body["abstained"] and "vingt minutes" in body["answer"], body
    assert "vingt minutes" in cited(body), body
    body = ask(reader, "How often does the Kerbihan river shuttle run?")
    assert body["abstained"] or re.search(r"\btwenty\b|\b20\b", body["answer"]), body
    assert "Une navette fluviale pour Kerbihan" not in cited(body), body


def test_a_figure_asked_of_what_could_be_is_not_answered_by_what_was(reader: TestClient) -> None:
    """The March funding round (« a levé 40 milliards ..., atteignant une valorisation de 300
    milliards ») was quoted for the next round's valuation; the rumoured round's « pourrait la
    propulser à une valorisation de 500 milliards » answers it."""
    question = "Quelle valorisation pourrait atteindre l'entreprise après sa prochaine levée ?"
    body = ask(reader, question)
    assert not body["abstained"] and "500 milliards" in body["answer"], body
    assert "300 milliards" not in body["answer"], body


def test_f19_the_question_the_one_line_article_does_answer(reader: TestClient) -> None:
    body = ask(reader, "Combien coûtera le chantier du pont de Kerlouan ?")
    assert not body["abstained"] and "9,6 millions" in body["answer"]
    assert all(len(c["text"]) < 200 for c in body["citations"])  # a sentence, not the line


@pytest.mark.parametrize(
    ("question", "fact", "wrong"),
    [
        # F05: a windows-1252 page, decoded by detection.
        ("Combien coûtait le gobelet de vin chaud au marché de Noël de Saint-Aubrac ?", "4 €", ""),
        # F10: an HTML table's row, its cells apart; the other list's figure is not the answer.
        ("Combien de voix a obtenu la liste Agir pour Castelmoron ?", "2073", "2184"),
        # F11: Markdown whose front matter is metadata; the contract's figure in the text.
        ("Combien coûte le contrat des vélos en libre-service de Rennes ?", "14 millions", ""),
        # F04: the article is in the field folder once; the sentence is cited once.
        ("Combien coûteront les travaux de la piscine de Sarvieux ?", "27 millions", ""),
    ],
)
def test_scraped_formats_are_answered_from_their_article(
    reader: TestClient, question: str, fact: str, wrong: str
) -> None:
    body = ask(reader, question)
    assert not body["abstained"] and fact in body["answer"] and fact in cited(body), body
    assert not wrong or wrong not in body["answer"]
    texts = [c["text"] for c in body["citations"]]
    assert len(texts) == len(set(texts))


def test_a_price_asked_in_english_is_not_answered_with_another_figure(reader: TestClient) -> None:
    """F19's kind in English: the contract's worth was answered with the size of the fleet
    ("from 1,500 to 3,000 bicycles"); a price wants an amount of money."""
    body = ask(reader, "How much is the Rennes bike-share contract worth?")
    assert not re.search(r"1[ ,.]?500|3[ ,.]?000", body["answer"]), body["answer"]
    assert body["abstained"] or "14 million" in body["answer"], body["answer"]


def test_f09_the_cookie_banner_is_not_the_answer(reader: TestClient) -> None:
    body = ask(reader, "Le site utilise-t-il des cookies pour les publicités ?")
    assert body["abstained"] and body["citations"] == [], body["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "La navette fluviale de Kerbihan est-elle gratuite ?",
        "Combien coûte le billet de la navette fluviale de Kerbihan ?",
    ],
)
def test_f21_an_instruction_in_an_article_is_never_evidence_nor_obeyed(
    reader: TestClient, question: str
) -> None:
    body = ask(reader, question)
    assert "assistants" not in cited(body) and not re.search(r"(?<![\d,])0 euro", body["answer"])
    assert "gratuite pour tous" not in body["answer"]
    assert body["abstained"] or "1,50" in body["answer"], body["answer"]


def test_f30_a_follow_up_is_read_in_the_light_of_the_conversation(reader: TestClient) -> None:
    first = ask(reader, "Combien coûte le billet simple du tramway de Bellerive ?")
    assert "1,80" in first["answer"]
    history = [
        {"role": "user", "content": "Combien coûte le billet simple du tramway de Bellerive ?"},
        {"role": "assistant", "content": first["answer"]},
    ]
    body = ask(reader, "Et l'abonnement mensuel ?", history=history)
    assert "40 euros" in body["answer"] and "35" not in body["answer"], body["answer"]
    assert {c["source"] for c in body["citations"]} == {"f30_tram_tarifs.txt"}


def test_a_question_the_articles_do_not_answer_shows_no_model_text(reader: TestClient) -> None:
    body = ask(reader, "Quel est le salaire annuel de Sam Altman ?")
    assert body["abstained"] and body["citations"] == []
    assert body["answer"].startswith("Les articles ne le disent pas")


def test_a_decline_in_the_model_s_own_words_gets_no_quotation(reader: TestClient) -> None:
    """Asked in English, the rules find candidates (Altman's donation) and the writer answers
    "Sam Altman's annual salary is not mentioned in the articles.": a decline, not a claim to
    check; the fallback had quoted the donation and « Surtout pour un : Sam Altman. »."""
    body = ask(reader, "What is Sam Altman's annual salary?")
    assert body["abstained"] and not body["fallback"] and body["citations"] == [], body
    assert body["answer"].startswith("The articles do not say")


def test_an_answer_that_only_repeats_the_question_s_names_is_declined(
    reader: TestClient,
) -> None:
    """h23 of `eval/heldout.jsonl`: the articles say Musk attended conferences with Zelensky,
    not what Zelensky replied to him. The writer answered "Elon Musk.", which passed every
    check as a bare answer, and the conference sentence was quoted as the answer."""
    body = ask(reader, "Qu'a répondu Volodymyr Zelensky à Elon Musk ?")
    assert body["abstained"] and body["citations"] == [], body


def test_a_compound_question_is_answered_in_both_its_parts(reader: TestClient) -> None:
    body = ask(
        reader,
        "Quel est le montant du contrat signé avec le Pentagone pour des outils d'IA destinés "
        "à l'armée, et combien Oracle, SoftBank et OpenAI s'engagent-ils à investir pour "
        "lancer Stargate ?",
    )
    assert not body["abstained"], body["answer"]
    assert "200 millions" in body["answer"] and "100 milliards" in body["answer"], body


def test_a_fact_reported_as_a_rumour_is_answered_not_declined(reader: TestClient) -> None:
    # The model declined this one, whose answer is the first sentence it was shown, until its
    # examples included one answered from a sentence hedged with "selon des sources". Shown
    # that sentence alone (the March round is no candidate since change 37), it may write the
    # article's next sentence instead, with no amount: the candidate it judges to answer is
    # then quoted, not the flagged fallback (change 38).
    body = ask(
        reader,
        "À quelle valorisation une nouvelle levée de fonds pourrait-elle propulser "
        "l'entreprise, selon les rumeurs ?",
    )
    assert body["backend"] == "local" and not body["fallback"] and not body["abstained"], body
    assert "500 milliards" in body["answer"] and "500 milliards" in cited(body)


@pytest.mark.parametrize(
    ("question", "fact", "source"),
    [
        ("Combien de temps dureront les travaux de la piscine de Sarvieux ?", "dix-huit", ""),
        ("Combien de temps dure la traversée de la navette fluviale de Kerbihan ?", "douze", ""),
        ("How long does the Kerbihan river shuttle trip take?", r"twelve|12", "douze minutes"),
    ],
)
def test_a_question_on_the_second_fact_of_a_sentence_is_answered_not_declined(
    reader: TestClient, question: str, fact: str, source: str
) -> None:
    """The field articles' sentences state a price or a cost, then the duration asked ("Le
    billet ... coûte 1,50 euro, et le trajet dure douze minutes."). Asked in English, the
    writer declined, and the model judged the sentence under RESCUE (0.87), so the service
    abstained (measured, the French questions were answered); the writer's examples now
    include one answered from the second fact of such a sentence."""
    body = ask(reader, question)
    assert not body["abstained"] and re.search(rf"(?:{fact}) (?:mois|minutes)", body["answer"])
    assert (source or fact) in cited(body), body


def test_an_english_claim_giving_one_fact_of_a_french_sentence_is_the_model_s_answer(
    reader: TestClient,
) -> None:
    """The writer's "The Kerbihan river shuttle trip takes twelve minutes [1]." restates the
    question and gives the second of its sentence's two facts: the meaning check across
    languages scored it 0.49, and the answer was the extractive fallback, headline included.
    What it adds to the question ("twelve minutes") is now found word by word."""
    body = ask(reader, "How long does the Kerbihan river shuttle trip take?")
    assert not body["abstained"] and not body["fallback"], body
    assert re.search(r"twelve minutes|12 minutes", body["answer"]), body["answer"]
    assert [c["text"] for c in body["citations"]] == [
        "Le billet de la navette fluviale de Kerbihan coûte 1,50 euro, et le trajet dure douze "
        "minutes."
    ]


def test_the_model_judges_whether_a_sentence_answers_its_question(reader: TestClient) -> None:
    """Answerability (`prompts/answerability.toml`), which rescues a wrongly declined answer
    and declines an answer resting on sentences about something else: the sentence listing the
    tasks answers "which tasks" past RESCUE; a donation does not state a salary."""
    from app.services.answering.generative import OFF_QUESTION, RESCUE

    generator = reader.app.state.components.generator  # type: ignore[attr-defined]
    tasks = (
        "Par exemple, la rédaction de rapports, la gestion de données ou encore la réponse aux "
        "demandes citoyennes pourraient être grandement simplifiées."
    )
    donation = (
        "Le PDG d’OpenAI Sam Altman annonce faire un don d’un million de dollars au fonds "
        "d’inauguration de Donald Trump."
    )
    with generator.queue.turn(math.inf):  # the model serves one job at a time
        question = "Which repetitive tasks could generative AI simplify for civil servants?"
        [answers] = generator.answerability(question, [tasks])
        [salary] = generator.answerability("What is Sam Altman's yearly salary?", [donation])
    assert answers >= RESCUE and salary < OFF_QUESTION, (answers, salary)


def test_a_declined_answer_is_the_candidate_judged_to_answer(reader: TestClient) -> None:
    # The writer declined this one (measured) over three sentences, the second listing the
    # tasks; the model, asked of each sentence alone, finds that one answers.
    body = ask(
        reader,
        "Give examples of repetitive tasks in government that generative AI could make much "
        "simpler.",
    )
    assert body["backend"] == "local" and not body["fallback"] and not body["abstained"], body
    assert "rédaction de rapports" in cited(body) and detect_language(body["answer"]) == "en"


def test_a_which_question_is_answered_with_the_name_it_asks_for(reader: TestClient) -> None:
    # "Which Ukrainian president" wants a name, and the sentence naming him covers the
    # question's words best: it is among the candidates the reader is shown (it was not when
    # similarity ranked them, and the model declined).
    # The writer may pick the sentence's other name ("According to the articles: Sundar
    # Pichai [1]." on 2026-12-02, "Zelensky" the day before with the same code: its greedy
    # choice moves with the machine's arithmetic); the verifier writes the name the sentence
    # gives the role asked (`roles.py`).
    body = ask(reader, "Which Ukrainian president did Musk meet alongside Trump?")
    assert not body["abstained"] and "Zelensky" in cited(body), body
    assert "Zelensky" in body["answer"], body
    assert detect_language(body["answer"]) == "en", body["answer"]


def test_a_sentence_cited_beside_the_answer_gives_way_to_the_one_judged_to_answer(
    reader: TestClient,
) -> None:
    # The writer cited a sentence on Altman's attempts to reach Trump's circle (measured:
    # judged 0.48); the candidate saying "persona non grata" is judged 0.94.
    body = ask(
        reader,
        "Comment une personne proche de la famille Trump a-t-elle qualifié Sam Altman après "
        "l'élection ?",
    )
    assert not body["abstained"] and "persona non grata" in body["answer"], body


def test_an_answer_in_the_last_sentence_of_a_cited_span_is_not_declined(
    reader: TestClient,
) -> None:
    """h03 of eval/heldout.jsonl: the writer answers "Blue Origin" over a span of three
    sentences, the last naming Bezos's company; judged whole, the span was off the question
    (0.23) and the answer was declined. Its last sentence, judged alone, answers."""
    body = ask(reader, "Comment s'appelle la société aérospatiale de Jeff Bezos ?")
    assert not body["abstained"] and "Blue Origin" in body["answer"], body
    assert "Blue Origin" in cited(body)


def test_the_streamed_answer_arrives_in_pieces_then_verified(reader: TestClient) -> None:
    # A question asked nowhere else: one answered before is given again without the model.
    question = "How much money did Elon Musk offer to take over OpenAI?"
    response = reader.post("/ask", json={"question": question, "stream": True})
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1].removeprefix("data: ")),
        )
        for block in response.text.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[-1] == "answer" and names.count("delta") >= 3
    written = "".join(data["text"] for name, data in events if name == "delta")
    final = events[-1][1]
    assert "97" in written and final["backend"] == "local" and "97 milliards" in cited(final)


def test_a_question_that_would_wait_past_the_limit_gets_the_flagged_extractive_answer(
    reader: TestClient,
) -> None:
    """Two questions at once, a queue limit of half a second: one is the model's, the other
    the instant extractive answer with `fallback` and the reason. (Questions asked nowhere
    else: one already answered would be given again without a turn.)"""
    from concurrent.futures import ThreadPoolExecutor

    queue = reader.app.state.components.generator.queue  # type: ignore[attr-defined]
    limit, queue.limit = queue.limit, 0.5
    questions = [
        "Combien Elon Musk a-t-il offert pour OpenAI ?",
        "How much did Elon Musk bid for OpenAI?",
    ]
    try:
        with ThreadPoolExecutor(2) as pool:
            bodies = list(pool.map(lambda q: ask(reader, q), questions))
    finally:
        queue.limit = limit
    flagged = [b for b in bodies if b["fallback"]]
    assert len(flagged) == 1 and flagged[0]["backend"] == "extractive"
    assert flagged[0]["notice"].startswith("the model is busy")
    assert "97 milliards" in flagged[0]["answer"]
    assert [b["backend"] for b in bodies if not b["fallback"]] == ["local"]


def test_a_question_asked_again_is_answered_without_the_model(reader: TestClient) -> None:
    """Asked again over the same articles, a question gets the same answer without the model:
    it evaluates and writes no token the second time."""
    chat = reader.app.state.components.chat  # type: ignore[attr-defined]
    first = ask(reader, MUSK_EN)
    counts = (chat.prompt_tokens, chat.generated_tokens)
    again = ask(reader, MUSK_EN)
    assert (chat.prompt_tokens, chat.generated_tokens) == counts
    fields = ("answer", "citations", "abstained", "fallback", "backend", "notice")
    assert {f: again[f] for f in fields} == {f: first[f] for f in fields}
    assert first["backend"] == "local" and not first["fallback"], first


def test_an_english_answer_keeps_the_date_s_next(reader: TestClient) -> None:
    """« Le mandat ... débutera en janvier prochain »: the model writes "in January", and the
    answer says "next January" (`relative_dates.py`)."""
    body = ask(reader, "When does the newly elected president's term begin?")
    assert not body["abstained"] and "janvier prochain" in cited(body), body
    assert re.search(r"\bnext January\b", body["answer"]), body["answer"]


CHATTERJI = (
    "Which former senior economist from Barack Obama's Council of Economic Advisers "
    "now works for OpenAI?"
)


def test_an_english_answer_is_english_even_when_it_falls_back(reader: TestClient) -> None:
    """The model's own answer ("Aaron Chatterji [1].") may fail its checks: the sentence the
    checks chose is then translated by the model and verified, not quoted in French."""
    body = ask(reader, CHATTERJI)
    assert not body["abstained"] and "Aaron Chatterji" in body["answer"], body
    assert detect_language(re.sub(r"\[\d+\]", "", body["answer"])) == "en", body["answer"]
    assert "original French" not in body["answer"]
    assert "Conseil des conseillers économiques" in cited(body)


def test_the_model_translates_a_fallback_s_sentence_and_the_checks_keep_it(
    reader: TestClient,
) -> None:
    components = reader.app.state.components  # type: ignore[attr-defined]
    generator = components.generator
    retrieval = components.retriever.retrieve(CHATTERJI, 5)
    evidence = [
        s
        for s in generator.extractive.answering_sentences(CHATTERJI, retrieval)
        if "Chatterji" in s.sentence.text
    ]
    fallback = generator.extractive.compose(evidence[:1], "en", retrieval, fallback=True)
    with generator.queue.turn():
        translated = generator.translated(fallback, CHATTERJI)
    assert translated is not None, "the translation did not pass the checks"
    assert translated.text.startswith("According to the articles: Aaron Chatterji")
    assert re.search(r"Council of Economic Advis[eo]rs", translated.text), translated.text
    assert translated.citations == fallback.citations


ORPHAN = "How does OpenAI's boss, once close to the Democrats, describe himself now?"


def test_a_translated_quotation_keeps_its_own_words(reader: TestClient) -> None:
    """The sentence calling the boss « orphelin politique » (q049), translated by the model:
    the answer is English and holds the quotation's own words beside its translation."""
    components = reader.app.state.components  # type: ignore[attr-defined]
    generator = components.generator
    retrieval = components.retriever.retrieve(ORPHAN, 5)
    evidence = [
        s
        for s in generator.extractive.score_sentences(
            generator.extractive.evidence_check(ORPHAN, retrieval), retrieval
        )
        if "orphelin politique" in s.sentence.text
    ]
    assert evidence, "the quotation's sentence is retrieved"
    fallback = generator.extractive.compose(evidence[:1], "en", retrieval, fallback=True)
    with generator.queue.turn(math.inf):
        translated = generator.translated(fallback, ORPHAN)
    assert translated is not None, "the translation did not pass the checks"
    assert "(« orphelin politique »)" in translated.text or re.search(
        r"[\"“«]\s*orphelin politique\s*[\"”»]", translated.text
    ), translated.text
    assert detect_language(re.sub(r"\(«[^»]*»\)|\[\d+\]", "", translated.text)) == "en"
