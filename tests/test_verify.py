"""The verifier on hand-written answers over real retrieved passages of the sample."""

from __future__ import annotations

import pytest

from app.services.answering.support import (
    adds_found_words,
    copies_a_phrase,
    judge,
    keeps_facts,
    split_claims,
)
from app.services.answering.verify import Evidence, Verified, verify
from app.services.retriever import HybridRetriever
from config import Settings
from vectorstore import ChromaStore, Chunk, DocumentMeta, Embedder, Sentence


def retrieved(
    settings: Settings, embedder: Embedder, question: str
) -> tuple[list[Sentence], dict[str, Chunk]]:
    """The whole sentences of the sample's top 5 chunks for the question, and those chunks by
    id."""
    store = ChromaStore.from_settings(settings, embedder.fingerprint)
    retrieval = HybridRetriever(store, embedder, settings).retrieve(question, 5)
    sentences, _ = retrieval.corpus.sentences_of([h.chunk.id for h in retrieval.hits])
    return [s for s in sentences if s.whole], {h.chunk.id: h.chunk for h in retrieval.hits}


def evidence_of(sentences: list[Sentence], chunks: dict[str, Chunk]) -> Evidence:
    """The sentences numbered as the writer would see them, each with its chunk."""
    return Evidence(sentences, [chunks[s.chunk_id] for s in sentences])


@pytest.fixture(scope="module")
def evidence(sample_settings: Settings, embedder: Embedder) -> Evidence:
    return evidence_of(
        *retrieved(
            sample_settings,
            embedder,
            "Combien Elon Musk a-t-il proposé pour OpenAI et combien SoftBank a-t-il injecté ?",
        )
    )


def marker_of(evidence: Evidence, needle: str) -> int:
    return next(n for n, s in enumerate(evidence.sentences, start=1) if needle in s.text)


def check(answer: str, evidence: Evidence, embedder: Embedder) -> Verified:
    return verify(answer, evidence, embedder.embed)


def test_a_supported_sentence_is_kept_and_cites_its_sentence(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "97 milliards")
    result = check(
        f"Elon Musk a proposé 97 milliards de dollars pour OpenAI [{n}].", evidence, embedder
    )
    assert result.text == "Elon Musk a proposé 97 milliards de dollars pour OpenAI [1]."
    assert result.unsupported == []
    cited = result.citations[0]
    assert cited.marker == 1 and "97 milliards" in cited.sentence.text
    assert (
        cited.chunk.text[cited.sentence.start - cited.chunk.start :][:20]
        == cited.sentence.text[:20]
    )


def test_a_wrong_figure_or_name_is_removed(evidence: Evidence, embedder: Embedder) -> None:
    n = marker_of(evidence, "97 milliards")
    result = check(
        f"Elon Musk a proposé 79 milliards de dollars [{n}]. "
        f"Jeff Bezos a proposé 97 milliards de dollars pour OpenAI [{n}].",
        evidence,
        embedder,
    )
    assert result.citations == [] and len(result.unsupported) == 2


def test_a_sentence_without_a_valid_marker_is_pinned_to_the_sentence_that_supports_it(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "10 milliards")
    result = check(
        "Elon Musk a proposé 97 milliards de dollars pour OpenAI. "
        "SoftBank aurait injecté 10 milliards de dollars dans Stargate [99]. "
        f"Selon Musk, SoftBank aurait injecté 10 milliards de dollars dans Stargate [{n}]. "
        "La tarte Tatin se cuit à feu doux [1].",
        evidence,
        embedder,
    )
    assert result.text == (
        "Elon Musk a proposé 97 milliards de dollars pour OpenAI [1]. "
        "SoftBank aurait injecté 10 milliards de dollars dans Stargate [2]. "
        "Selon Musk, SoftBank aurait injecté 10 milliards de dollars dans Stargate [2]."
    )
    assert "97 milliards" in result.citations[0].sentence.text
    assert "10 milliards" in result.citations[1].sentence.text
    assert result.unsupported == ["La tarte Tatin se cuit à feu doux."]


def test_an_english_paraphrase_of_a_french_passage_is_kept(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "97 milliards")
    result = check(
        f"Elon Musk offered 97 billion dollars to take over OpenAI [{n}].", evidence, embedder
    )
    assert result.unsupported == [] and result.citations[0].marker == 1


def test_markers_are_renumbered_in_order_of_use(evidence: Evidence, embedder: Embedder) -> None:
    first, second = marker_of(evidence, "10 milliards"), marker_of(evidence, "97 milliards")
    result = check(
        f"SoftBank aurait injecté 10 milliards de dollars dans Stargate [{first}]. "
        f"Elon Musk a proposé 97 milliards de dollars pour OpenAI [{second}].",
        evidence,
        embedder,
    )
    assert [c.marker for c in result.citations] == [1, 2]
    assert result.text.endswith("pour OpenAI [2].")


def test_the_writer_sees_numbered_sentences_after_its_worked_examples() -> None:
    from app.services.answering.generative import writer_messages
    from prompts import load_examples, load_prompt

    assert "[2]" in load_prompt("answer", "en")["system"]
    messages, fixed = writer_messages(
        "Qu'est-ce que Stargate ?",
        "fr",
        [("Stargate", "Stargate est un projet."), ("Stargate", "Il  coûte\n500 milliards.")],
    )
    shots = len(load_examples("answer", "fr"))
    assert shots >= 2  # an answered example and a declined one, at least
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * shots, "user"]
    assert fixed == 1 + 2 * shots and messages[2]["content"].endswith("[1].")
    assert messages[-1]["content"] == (
        "[1] (article « Stargate ») Stargate est un projet.\n"
        "[2] (article « Stargate ») Il coûte 500 milliards.\n\n"
        "Question : Qu'est-ce que Stargate ?"
    )


def test_the_model_check_removes_what_it_does_not_vouch_for(
    evidence: Evidence, embedder: Embedder
) -> None:
    """A sentence that passes the number and name checks is still removed when the model's
    check says no; the model's verdict is asked with the cited sentence and its article's
    title, not the chunk."""
    n = marker_of(evidence, "97 milliards")
    asked: list[tuple[str, list[str]]] = []

    def says_no(claim: str, cited: object) -> bool:
        asked.append((claim, list(cited)))  # type: ignore[call-overload]
        return False

    claim = f"Elon Musk offered 97 billion dollars to take over OpenAI [{n}]."
    result = verify(claim, evidence, embedder.embed, says_no)
    assert result.citations == [] and result.unsupported == [claim.replace(f" [{n}]", "")]
    titled = f"({evidence.chunks[n - 1].doc.title}) {evidence.sentences[n - 1].text}"
    assert asked == [(claim.replace(f" [{n}]", ""), [titled])]


def test_what_a_model_writes_around_a_quotation_is_judged_too(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "10 milliards")
    kept = check(
        f"Selon Musk, « SoftBank aurait injecté 10 milliards de dollars dans Stargate » [{n}].",
        evidence,
        embedder,
    )
    smuggled = check(
        f"Selon Musk, « SoftBank aurait injecté 10 milliards de dollars dans Stargate », "
        f"mais OpenAI a tout remboursé en 2031 [{n}].",
        evidence,
        embedder,
    )
    assert kept.text.startswith("Selon Musk, « SoftBank") and kept.unsupported == []
    assert smuggled.citations == [] and "2031" in smuggled.unsupported[0]


def test_a_bare_name_is_verified_as_the_answer_to_the_question(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """ "The Wall Street Journal [1]." is in its cited sentence, which says nothing of Bezos: as
    the answer to the question about Trump and Bezos it is unsupported (held-out set)."""
    store = ChromaStore.from_settings(sample_settings, embedder.fingerprint)
    question = "Which newspaper's coverage did Trump and Jeff Bezos clash over?"
    snapshot = HybridRetriever(store, embedder, sample_settings).snapshot
    wsj_chunks = [c.id for c in snapshot.chunks if "Wall Street Journal" in c.text]
    sentences, _ = snapshot.sentences_of(wsj_chunks)
    wsj = [s for s in sentences if s.whole and "Wall Street Journal" in s.text]
    chunks = {c.id: c for c in snapshot.chunks}
    alone = Evidence(wsj, [chunks[s.chunk_id] for s in wsj])
    answer = "The Wall Street Journal [1]."
    assert verify(answer, alone, embedder.embed).citations  # a name found where it is cited
    checked = verify(answer, alone, embedder.embed, question=question)
    assert checked.citations == [] and checked.unsupported == ["The Wall Street Journal."]


def test_what_a_claim_adds_to_its_question_must_be_in_the_sentence_it_rests_on(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """ "supercherie [2]" cited to a sentence about the same people and the same funds, which
    does not say the word: the word is what the answer adds, so it is pinned to the sentence
    that says it, and a claim resting on a sentence that only names its people is removed
    (both seen on eval/questions.jsonl, q072 and q014)."""
    question = (
        "De quel mot Musk a-t-il qualifié le projet Stargate en affirmant que Softbank "
        "n'avait pas les fonds ?"
    )
    sentences, chunks = retrieved(sample_settings, embedder, question)
    said = next(s for s in sentences if "supercherie" in s.text)
    about = next(s for s in sentences if "OpenAI n’a pas les fonds" in s.text)
    shown = evidence_of([said, about], chunks)
    checked = verify("supercherie [2].", shown, embedder.embed, question=question)
    assert checked.text == "supercherie [1]." and checked.citations[0].sentence == said
    alone = Evidence([about], [chunks[about.chunk_id]])
    claim = "Musk a qualifié le projet Stargate de supercherie [1]."
    assert verify(claim, alone, embedder.embed, question=question).citations == []


SOURCE = "Aaron Chatterji, ancien économiste senior dans le Conseil des conseillers économiques."


@pytest.mark.parametrize(
    ("translation", "kept"),
    [
        ("Aaron Chatterji, former senior economist on the Council of Economic Advisors.", True),
        # Another institution of the same kind is no translation of the one named.
        ("Aaron Chatterji, former senior economist at the Federal Reserve.", False),
        (
            "Aaron Chatterji, former senior economist in Germany's Council of Economic Advisors.",
            False,
        ),
        # A word added to a translated name does not pass with it.
        ("Aaron Chatterji, economist on the German Council of Economic Advisors.", False),
    ],
)
def test_a_translation_may_translate_names_and_may_not_add_one(
    embedder: Embedder, translation: str, kept: bool
) -> None:
    assert judge(translation, [SOURCE], embedder.embed, translated_names=True).supported is kept
    # An English claim over a French sentence is judged so without being told.
    assert judge(translation, [SOURCE], embedder.embed).supported is kept


LEHANE = "Chris Lehane, ancien avocat de la Maison-Blanche sous Bill Clinton."


@pytest.mark.parametrize(
    ("claim", "kept"),
    [
        ("Chris Lehane, formerly a lawyer at the White House under Bill Clinton.", True),
        ("Chris Lehane, formerly a lawyer at the Pentagon under Bill Clinton.", False),
        ("Chris Lehane, formerly a lawyer at the Bank of England under Bill Clinton.", False),
        ("Chris Lehane, formerly a lawyer at the Black House under Bill Clinton.", False),
    ],
)
def test_a_name_of_several_words_is_translated_as_one(
    embedder: Embedder, claim: str, kept: bool
) -> None:
    """ "White House" for "Maison-Blanche": neither "White" nor "House" alone translates a
    word of the sentence, the two together do."""
    assert judge(claim, [LEHANE], embedder.embed).supported is kept


def test_a_claim_in_the_cited_text_s_language_must_find_its_names(embedder: Embedder) -> None:
    claim = "Aaron Chatterji, ancien économiste senior dans le Conseil de la Banque de France."
    assert not judge(claim, [SOURCE], embedder.embed).supported


def test_a_name_of_the_question_counts_for_a_translation(
    evidence: Evidence, embedder: Embedder
) -> None:
    n = marker_of(evidence, "97 milliards")
    claim = (
        "In what could shake up the world of technology, Elon Musk offered 97 billion dollars "
        f"to take the reins of OpenAI, the ChatGPT maker [{n}]."
    )
    assert check(claim, evidence, embedder).unsupported  # "ChatGPT" is in no passage
    question = "How much did Elon Musk offer for the ChatGPT maker OpenAI?"
    kept = verify(claim, evidence, embedder.embed, names_from=question)
    assert not kept.unsupported and kept.citations[0].sentence.text.startswith("Dans ce qui")


@pytest.mark.parametrize(
    ("written", "translation", "kept"),
    [
        # The translation of the cited sentence says more, and all the model said: it stands.
        (
            "The Pentagon deal was for 200 million dollars [1].",
            "In June, she signed a $200 million contract with the Pentagon for the American "
            "military [1].",
            True,
        ),
        (
            "Altman is giving $1 million [1].",
            "Altman will make a million-dollar donation [1].",
            True,
        ),
        # The model took the club's name from the passage around the sentence it cited.
        (
            "Elon Musk slept at Mar-a-Lago, Florida [1].",
            "Elon Musk has been particularly close to Trump in the last few weeks [1].",
            False,
        ),
        ("OpenAI raised 40 billion dollars [1].", "OpenAI raised funds [1].", False),
    ],
)
def test_a_translation_replaces_the_model_s_words_only_with_all_their_facts(
    written: str, translation: str, kept: bool
) -> None:
    assert keeps_facts(written, translation) is kept


@pytest.mark.parametrize(
    ("written", "translation", "question", "kept"),
    [
        # The town and the year are the question's: the translation loses nothing new.
        (
            "4 200 biodegradable lanterns were released at the Quimperlé festival [1].",
            "4,200 biodegradable lanterns were released [1].",
            "How many lanterns were released at the Quimperlé festival?",
            True,
        ),
        (
            "In 2023, the festival drew 86,000 visitors [1].",
            "The festival drew 86,000 visitors [1].",
            "How many visitors did the festival draw in 2023?",
            True,
        ),
        # A name or a figure the question does not hold is still required.
        (
            "4 200 lanterns were released at the Quimperlé festival [1].",
            "4,200 lanterns were released [1].",
            "How many lanterns were released at the festival?",
            False,
        ),
        (
            "4 200 lanterns were released at the Quimperlé festival [1].",
            "Lanterns were released at the Quimperlé festival [1].",
            "How many lanterns were released at the Quimperlé festival?",
            False,
        ),
        # "Musk" asked about does not excuse "Mar-a-Lago" left out.
        (
            "Elon Musk slept at Mar-a-Lago, Florida [1].",
            "Elon Musk has been particularly close to Trump [1].",
            "Where did Elon Musk sleep?",
            False,
        ),
    ],
)
def test_a_translation_need_not_restate_what_the_question_holds(
    written: str, translation: str, question: str, kept: bool
) -> None:
    assert keeps_facts(written, translation, question) is kept


@pytest.mark.parametrize(
    ("written", "translation", "kept"),
    [
        # The model left « Maison Blanche » in French; the translation writes it in English.
        (
            "Chris Lehane is an avocat à la Maison Blanche under Bill Clinton [1].",
            "Chris Lehane, former attorney at the White House under Bill Clinton [1].",
            True,
        ),
        # A translation that drops the name asked for does not replace the model's words ...
        (
            "Chris Lehane, ancien avocat à la Maison Blanche under Bill Clinton [1].",
            "A former White House lawyer under Bill Clinton [1].",
            False,
        ),
        # ... nor one that drops a number.
        (
            "Altman a fait un don de 250 000 dollars à American Bridge [1].",
            "Altman made a donation to American Bridge [1].",
            False,
        ),
    ],
)
def test_a_translation_may_write_a_name_in_english_but_not_drop_it(
    written: str, translation: str, kept: bool, embedder: Embedder
) -> None:
    assert keeps_facts(written, translation, embed=embedder.embed) is kept
    # without the word vectors, « Maison Blanche » is required as written
    assert not keeps_facts(written, translation)


# Translations of the sample's sentences by the bundled model (2026-12-02) that were refused
# though they state what their sentence does; each refused for a reason that reads no meaning.
@pytest.mark.parametrize(
    ("source", "translation"),
    [
        # "CEO" is a title, not a name: it translates "patron"
        (
            "Rappelons également que Donald Trump a eu des différends très forts le patron "
            "d’Amazon Jeff Bezos, concernant la couverture médiatique du Washington Post.",
            "Also, we should note that Donald Trump had very strong disagreements with Jeff "
            "Bezos, the CEO of Amazon, regarding the media coverage of the Washington Post.",
        ),
        # "a central role" holds no number ("a" before "cent..." was read as "1")
        (
            "Deux figures marquantes se détachent dans cette histoire : Elon Musk, "
            "l’entrepreneur averti derrière Tesla, SpaceX et d’autres boîtes high-tech, et Sam "
            "Altman, qui joue un rôle central dans le projet OpenAI.",
            "Two prominent figures stand out in this story: Elon Musk, the entrepreneur behind "
            "Tesla, SpaceX, and other high-tech boxes, and Sam Altman, who plays a central role "
            "in the OpenAI project.",
        ),
        # "five years" is "cinq prochaines années"
        (
            "Oracle, SoftBank et OpenAI s’engagent à investir 100 milliards de dollars pour "
            "lancer le projet, avec une ambition d’injecter jusqu’à 500 milliards de dollars au "
            "cours des cinq prochaines années.",
            "Oracle, SoftBank and OpenAI are committing to invest 100 billion dollars to launch "
            "the project, with an ambition to inject up to 500 billion dollars over the next "
            "five years.",
        ),
        # "AI-generated" names "AI", which translates "IA"
        (
            "Ces chiffres témoignent de la confiance des investisseurs dans le potentiel de "
            "l’IA générative et de la société qui la porte.",
            "These figures demonstrate the confidence of investors in the potential of "
            "AI-generated technology and the company that carries it.",
        ),
    ],
)
def test_a_faithful_translation_passes_the_number_and_name_checks(
    embedder: Embedder, source: str, translation: str
) -> None:
    assert judge(translation, [source], embedder.embed, translated_names=True).supported


def test_a_translation_that_changes_a_name_or_a_number_still_fails(embedder: Embedder) -> None:
    source = (
        "En moins de 24 heures, Musk a lancé une campagne virulente contre Altman sur X, mêlant "
        "accusations de malversations financières, cyberharcèlement et insultes personnelles."
    )
    twitter = "In less than 24 hours, Musk launched a virulent campaign against Altman on Twitter."
    six = "Oracle will invest over the next six years."
    assert not judge(twitter, [source], embedder.embed, translated_names=True).supported
    assert not judge(
        six, ["Oracle investira au cours des cinq prochaines années."], embedder.embed
    ).supported


def test_a_figure_written_in_digits_is_found_spelled_in_its_source(embedder: Embedder) -> None:
    """French articles spell numbers ("dix-huit mois", "douze minutes"); the model writes them
    in digits, and "18 months" was refused for "dix-huit mois" (read as 10 and 8)."""
    works = "Les travaux coûteront 27 millions d'euros et dureront dix-huit mois."
    trip = "Le billet coûte 1,50 euro, et le trajet dure douze minutes."
    assert judge("The works will last 18 months.", [works], embedder.embed).numbers_ok
    assert judge("The trip takes 12 minutes.", [trip], embedder.embed).numbers_ok
    assert not judge("The trip takes 13 minutes.", [trip], embedder.embed).numbers_ok
    assert not judge("The works will cost 28 million euros.", [works], embedder.embed).numbers_ok
    # the claim's own spelled number asks for no figure, as before
    assert judge("The works will last eighteen months.", [works], embedder.embed).numbers_ok
    # a translation keeps the figure the model's words gave in digits
    assert keeps_facts("The works will last 18 months [1].", "They will last eighteen months.")


def test_a_hyphenated_spelled_number_is_one_number(embedder: Embedder) -> None:
    """ "dix-huit" was read as 10 and 8 as well as 18, so the model's half-translated "The
    works of the Sarvieux pool will last ten-huit months [1]." passed the number check and
    was shown (field case F04's article, asked in English)."""
    works = "Les travaux coûteront 27 millions d'euros et dureront dix-huit mois."
    assert not judge("The works will last ten-huit months.", [works], embedder.embed).numbers_ok
    assert not judge("The works will last 10 months.", [works], embedder.embed).numbers_ok
    assert judge("Les travaux dureront dix-huit mois.", [works], embedder.embed).numbers_ok
    assert judge("They will last 18 months.", [works], embedder.embed).numbers_ok
    ninety = "Le contrat court sur quatre-vingt-dix jours, et vingt-et-un agents y travaillent."
    assert judge("The contract runs for 90 days.", [ninety], embedder.embed).numbers_ok
    assert judge("Twenty-one officers work on it.", [ninety], embedder.embed).numbers_ok
    assert not judge("The contract runs for 20 days.", [ninety], embedder.embed).numbers_ok


def test_an_initial_s_full_stop_does_not_end_a_claim() -> None:
    claims = split_claims(
        "She signed a $200 million contract with the Pentagon for the U. S. military. "
        "M. Macron approved it [1]."
    )
    assert [c.sentence for c in claims] == [
        "She signed a $200 million contract with the Pentagon for the U. S. military.",
        "M. Macron approved it.",
    ]


def test_a_name_after_an_opening_parenthesis_is_checked(embedder: Embedder) -> None:
    """The translator wrote "Sundar Pichai (Google's CEO)" for "Sundar Pichai —PDG
    d'Alphabet—": once "CEO" counted as a title, "Google" after "(" went unseen."""
    source = "Il a rencontré Volodymyr Zelensky et Sundar Pichai —PDG d'Alphabet—."
    wrong = "He met Volodymyr Zelensky and Sundar Pichai (Google's CEO)."
    right = "He met Volodymyr Zelensky and Sundar Pichai (Alphabet's CEO)."
    assert not judge(wrong, [source], embedder.embed, translated_names=True).supported
    assert judge(right, [source], embedder.embed, translated_names=True).supported


LANTERNS = (
    "👏 Les organisateurs ont lâché 4 200 lanternes biodégradables au-dessus de la Laïta [2]."
)


@pytest.mark.parametrize(
    ("written", "copies"),
    [
        ("4 200 lanternes biodégradables were released at the festival [1].", True),
        ("4,200 biodegradable lanterns were released above the Laïta [1].", False),
        # names and figures are the same in both languages: not a phrase left in French
        ("Les Organisateurs released 4 200 lanterns [1].", False),
    ],
)
def test_a_french_phrase_left_in_an_english_answer_is_found(written: str, copies: bool) -> None:
    assert copies_a_phrase(written, [LANTERNS]) is copies


def test_a_bare_answer_s_question_may_name_what_its_passage_spells_otherwise(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """q009: "Chris Lehane [1]." was judged as the question followed by it, and the question's
    "OpenAI" was looked for in a chunk that writes "Open AI": the right answer was removed and
    the reply fell back to the extractive one. The question's names are the question's; the
    answer's own name must still be in its passage."""
    question = "Quel ancien avocat de la Maison Blanche sous Bill Clinton OpenAI a-t-il recruté ?"
    sentences, chunks = retrieved(sample_settings, embedder, question)
    lehane = [s for s in sentences if "Chris Lehane" in s.text]
    assert "OpenAI" not in chunks[lehane[0].chunk_id].text  # "Open AI"
    shown = evidence_of(lehane, chunks)
    kept = verify("Chris Lehane [1].", shown, embedder.embed, question=question)
    assert kept.text == "Chris Lehane [1]." and kept.unsupported == []
    # a name the answer gives must be in the passage
    invented = verify("Paul Méret [1].", shown, embedder.embed, question=question)
    assert invented.citations == [] and invented.unsupported == ["Paul Méret."]


def test_a_sentence_opening_with_a_pronoun_is_judged_with_the_name_it_stands_for(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """q079: "He asked the courts for an injunction to prevent OpenAI from becoming a
    for-profit company [2]." was removed (its meaning 0.54 against its French sentence: the
    embedder knows nothing of "He"), and the answer lost its second fact. Judged with the name
    the answer's sentence before it opened with, it is kept; what it claims must still be
    there."""
    question = (
        "Musk has tried two ways to stop OpenAI from going for-profit: how much did he offer "
        "to take it over, and what did he ask the courts for?"
    )
    sentences, chunks = retrieved(sample_settings, embedder, question)
    offer, injunction = (
        next(s for s in sentences if s.text.startswith(start))
        for start in ("Dans ce qui pourrait", "La récente injonction")
    )
    shown = evidence_of([offer, injunction], chunks)
    asked = (
        "He asked the courts for an injunction to prevent OpenAI from becoming a for-profit company"
    )
    answer = f"Musk offered 97 billion dollars to take over OpenAI [1]. {asked} [2]."
    # judged without the question, which would let what it adds be found word by word
    kept = verify(answer, shown, embedder.embed)
    assert kept.unsupported == [] and [c.sentence for c in kept.citations] == [offer, injunction]
    assert kept.text.endswith(f"{asked} [2].")  # the written sentence is shown as written
    # with no name before it to stand for, the pronoun is judged as written
    alone = verify(f"{asked} [2].", shown, embedder.embed)
    assert alone.unsupported == [f"{asked}."]
    # the name makes the meaning readable, not a claim true
    wrong = verify(
        "Musk offered 97 billion dollars to take over OpenAI [1]. He asked the courts to stop "
        "the Stargate data centres being built in Texas [2].",
        shown,
        embedder.embed,
    )
    assert len(wrong.unsupported) == 1 and wrong.unsupported[0].startswith("He asked")


KERBIHAN = (
    "Le billet de la navette fluviale de Kerbihan coûte 1,50 euro, et le trajet dure douze minutes."
)
MULLED_WINE = "Le vin chaud était vendu 4 € le gobelet, un prix jugé élevé par les habitués."


@pytest.mark.parametrize(
    ("claim", "question", "cited", "found"),
    [
        (
            "The Kerbihan river shuttle trip takes twelve minutes.",
            "How long does the Kerbihan river shuttle trip take?",
            KERBIHAN,
            True,
        ),
        (  # a unit that is not the sentence's: both added words must be there
            "The Kerbihan river shuttle trip takes twelve hours.",
            "How long does the Kerbihan river shuttle trip take?",
            KERBIHAN,
            False,
        ),
        (
            "The Kerbihan river shuttle runs every day.",
            "How often does the Kerbihan river shuttle run?",
            KERBIHAN,
            False,
        ),
        (  # q042's span: "entire" translates "toute", a stop word of French
            "The one-dollar offer to the US federal government will last for the entire year.",
            "How long will the one-dollar offer to the US federal government last?",
            "Cette initiative, qui s’étendra sur toute l’année prochaine, vise à intégrer l’IA "
            "dans les rouages de l’administration publique.",
            True,
        ),
        (
            "The one-dollar offer to the US federal government will last for the entire decade.",
            "How long will the one-dollar offer to the US federal government last?",
            "Cette initiative, qui s’étendra sur toute l’année prochaine, vise à intégrer l’IA "
            "dans les rouages de l’administration publique.",
            False,
        ),
        (  # a currency sign is a word: "euros" / "€" 0.77 (field case F05 asked in English)
            "A cup of mulled wine cost 4 euros.",
            "How much did a cup of mulled wine cost at the Saint-Aubrac Christmas market?",
            MULLED_WINE,
            True,
        ),
        (
            "A cup of mulled wine cost 4 dollars.",
            "How much did a cup of mulled wine cost at the Saint-Aubrac Christmas market?",
            MULLED_WINE,
            False,
        ),
        (  # q017: what it adds are names, which the name check weighs, not this one
            "The article on Altman's million-dollar donation cites Amazon and Meta as its sources.",
            "Which publications does the article on Altman's million-dollar donation cite as its "
            "sources?",
            "Des entreprises comme Amazon et Meta, qui ont chacune annoncé un don d’un million de "
            "dollars au même fonds d’inauguration, ont également pris part à cette initiative.",
            False,
        ),
    ],
)
def test_what_a_claim_adds_to_its_question_is_found_word_by_word_across_languages(
    claim: str, question: str, cited: str, found: bool, embedder: Embedder
) -> None:
    """A claim restating its question and giving one fact of a sentence in the other language
    is under the meaning check (Kerbihan 0.49, q042 0.31 against its span): what it adds is
    looked for word by word."""
    assert adds_found_words(claim, question, [cited], embedder.embed) is found


def test_a_claim_restating_its_question_with_the_sentence_s_fact_is_kept(
    embedder: Embedder,
) -> None:
    """Through `verify`: the Kerbihan claim was removed, and the answer fell back to the
    extractive one, headline included; a wrong unit is still removed."""
    doc = DocumentMeta("kerbihan", "Kerbihan : la navette fluviale reprend", "kerbihan.txt")
    chunk = Chunk("kerbihan:0", doc, KERBIHAN, 0, len(KERBIHAN), 0)
    sentence = Sentence("kerbihan:0:0", doc.doc_id, chunk.id, KERBIHAN, 0, len(KERBIHAN))
    shown = Evidence([sentence], [chunk])
    question = "How long does the Kerbihan river shuttle trip take?"
    right = "The Kerbihan river shuttle trip takes twelve minutes [1]."
    assert verify(right, shown, embedder.embed, question=question).text == right
    wrong = "The Kerbihan river shuttle trip takes twelve hours [1]."
    assert verify(wrong, shown, embedder.embed, question=question).citations == []
