from __future__ import annotations

import pytest

from app.services.answering.evidence import EvidenceCheck, QuestionProfile
from app.services.bm25 import BM25Index
from app.services.bridge import VocabularyBridge
from vectorstore import Embedder
from vectorstore.tokens import fold, surface_words


@pytest.mark.parametrize(
    ("question", "wants"),
    [
        ("Combien Elon Musk a-t-il proposé ?", "quantity"),
        ("How much did Musk offer?", "quantity"),
        ("En quelle année Altman a-t-il soutenu Andrew Yang ?", "year"),
        ("When did the Stargate announcement take place?", "date"),
        ("De quel pourcentage la capitalisation a-t-elle augmenté ?", "percent"),
        ("How did Altman describe Musk when responding to his attacks?", None),
        ("Qui dirige SoftBank ?", None),
        ("Comment s'appelle l'IA lancée par Musk ?", "name"),
        ("What are the names of the two open models?", "name"),
        ("Où Elon Musk a-t-il dormi chez Donald Trump ?", "place"),
        ("In which US state are the sites?", "place"),
        ("Quel est le prix de l'offre ?", "quantity"),
        ("Quelle est la date de naissance de Sam Altman ?", "date"),
        # who holds a role, which organisation: a name
        ("Which Ukrainian president did Musk meet alongside Trump?", "name"),
        ("Quelle société aérospatiale de Jeff Bezos concurrence SpaceX ?", "name"),
        ("Who is the Oracle chairman who appeared at the White House?", "name"),
        ("Which subsidies does Trump plan to scrap?", None),
        # a preamble before a colon: the question is after it
        ("Musk has tried two ways to stop OpenAI: how much did he offer?", "quantity"),
        # how often: a frequency, not any figure
        ("À quelle fréquence circule la navette fluviale de Kerbihan ?", "frequency"),
        ("Combien de fois par semaine le marché a-t-il lieu ?", "frequency"),
        ("How often does the Kerbihan river shuttle run?", "frequency"),
        # an amount by its name
        ("Quelle valorisation pourrait atteindre l'entreprise ?", "quantity"),
        ("What's Sam Altman's salary?", "quantity"),
        ("What is Sam Altman's annual salary?", "quantity"),  # the name after five words
        ("Quelle a été la valorisation d'OpenAI ?", "quantity"),
        # names that head other things as often
        ("What budget cuts did Trump announce?", None),
        ("Quelle est la part du budget consacrée à la défense ?", None),
    ],
)
def test_the_kind_of_answer_wanted(question: str, wants: str | None) -> None:
    assert QuestionProfile.of(question).wants == wants


@pytest.mark.parametrize(
    ("sentence", "answers"),
    [
        ("La navette circule toutes les vingt minutes de 6 h 30 à 21 h.", True),
        ("Le marché se tient deux fois par semaine, place du Général-de-Gaulle.", True),
        ("The shuttle runs every hour on weekdays.", True),
        ("Le conseil se réunit chaque mois.", True),
        # a figure, a date, a fare: not how often
        ("Le billet de la navette coûte 1,50 euro, et le trajet dure douze minutes.", False),
        ("La ville de Kerbihan a mis en service lundi une navette fluviale électrique.", False),
    ],
)
def test_how_often_wants_a_frequency(sentence: str, answers: bool) -> None:
    """ "How often does the Kerbihan river shuttle run?" had three candidates, none saying
    how often (the headline, the launch, the fare); « La navette circule toutes les vingt
    minutes » ranked fourth, unseen by the model, which wrote "runs every day"."""
    for question in ("À quelle fréquence circule la navette ?", "How often does the shuttle run?"):
        assert QuestionProfile.of(question).answered_by_type(sentence) is answers


def test_names_are_the_capitalised_words_inside_the_question() -> None:
    profile = QuestionProfile.of(
        "Which of Trump's clubs did Elon Musk visit with the Ukrainian president?"
    )
    assert profile.names == ("trump", "elon", "musk", "ukrainian")
    assert QuestionProfile.of("What did it raise last March?").names == ()  # a date, not a name


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Où se trouve Mar-a-Lago ?", ("mar", "lago")),
        ("Where is OpenAI based?", ("openai",)),
        ("Où est située la piscine de Sarvieux ?", ("piscine", "sarvieux")),
        ("Et où est basée la start-up Mistral ?", ("start", "mistral")),
        ("Where is OpenAI headquartered?", ("openai",)),
        # the verb stays where the question names the kind of place it wants
        ("In which US state are the sites located?", ("state", "sites", "located")),
        ("Qui a trouvé le financement ?", ("trouve", "financement")),
    ],
)
def test_where_frames_the_verb_that_asks_where(question: str, words: tuple[str, ...]) -> None:
    profile = QuestionProfile.of(question)
    assert tuple(fold(w) for w in profile.words) == words
    assert (profile.wants == "place") is not question.startswith("Qui")


def test_a_quantity_needs_a_number_the_question_does_not_hold() -> None:
    profile = QuestionProfile.of("How much did Altman's 2019 fundraiser bring in?")
    assert not profile.answered_by_type("En 2019, il a organisé une collecte de fonds.")
    assert profile.answered_by_type("Elle a rapporté 3 millions de dollars.")
    assert QuestionProfile.of("Combien de modèles ?").answered_by_type("Deux nouveaux modèles.")
    assert QuestionProfile.of("À quel prix ?").answered_by_type("Pour seulement un dollar.")


def test_a_year_needs_a_year_not_just_a_day() -> None:
    profile = QuestionProfile.of("In what year did Elon Musk leave OpenAI's board?")
    assert not profile.answered_by_type("À la Maison-Blanche, mardi 21 janvier.")
    assert profile.answered_by_type("Il a quitté le conseil en 2018.")
    assert QuestionProfile.of("When did he leave?").answered_by_type("Mardi 21 janvier.")


def test_a_name_needs_a_capitalised_word_the_question_does_not_hold() -> None:
    profile = QuestionProfile.of("What is the name of the AI that Elon Musk launched?")
    assert profile.answered_by_type("Musk a lancé Grok, son IA.")
    assert profile.answered_by_type("Sa start-up xAI concurrence OpenAI.")
    assert not profile.answered_by_type("Elon Musk a lancé une IA.")  # only the question's names


def test_a_name_beside_an_asked_name_is_the_same_person_not_a_new_name() -> None:
    """A run such as "Elon Musk" answers no question about Musk: it holds an asked name.
    "d’OpenAI" and "L’Amérique" are names after their elided article."""
    profile = QuestionProfile.of("Which Ukrainian president did Musk meet alongside Trump?")
    assert not profile.answered_by_type("Ce sera Elon Musk, après la victoire de Donald Trump.")
    assert profile.answered_by_type("Il a rencontré Volodymyr Zelensky, président de l'Ukraine.")
    country = QuestionProfile.of("Which country did the company's leader call incredible?")
    assert country.answered_by_type("« L’Amérique est un pays incroyable. »")
    assert QuestionProfile.of("Which company did he buy?").answered_by_type("Le rachat d’OpenAI.")
    assert not profile.answered_by_type("Deux nouveaux modèles d'IA générative.")  # IA: a noun


def test_a_name_is_neither_the_asked_names_cognate_nor_a_sentences_first_word() -> None:
    """h20 of eval/heldout.jsonl: the French "Pentagone" is the Pentagon asked about, not the
    program's name; in two sentences read together (`antecedents.py`), "Cette" opening the
    second names nothing."""
    profile = QuestionProfile.of("What is the name of the Pentagon program the AI company joined?")
    assert not profile.answered_by_type("Elle a signé un contrat avec le Pentagone.")
    assert not profile.answered_by_type(
        "Elle a signé un contrat avec le Pentagone. Cette initiative marque une étape."
    )
    assert profile.answered_by_type("Elle a rejoint le programme Tradewinds du Pentagone.")


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("Combien d'employés fédéraux pourront utiliser ChatGPT ?", "employés"),
        ("How many federal employees can use ChatGPT?", "employees"),
        ("What are the names of the two open models the company released?", "models"),
        ("Comment s'appelle l'offre professionnelle mise à disposition ?", "offre"),
        ("Quel est le nom de la start-up de Musk ?", "start-up"),
        ("What is the name of the AI that Elon Musk launched?", None),  # "AI": too short to tell
        # an English noun phrase ends before a verb or a name: its plural is the thing
        ("How many engineers work on the Stargate project?", "engineers"),
        ("How many employees worked at the factory before it closed?", "employees"),
        ("What is the name of the AI Musk launched?", None),
        ("How many Tesla cars were sold?", "cars"),
        ("How much money did he give?", None),
        ("Combien Musk a-t-il proposé ?", None),
        ("Quelle est la date de naissance de Sam Altman ?", "naissance"),
        ("What was the date of the announcement of Stargate?", "announcement"),
    ],
)
def test_the_thing_a_question_counts_or_names(question: str, thing: str | None) -> None:
    assert QuestionProfile.of(question).thing == thing


def test_a_question_set_in_a_year_wants_that_year() -> None:
    profile = QuestionProfile.of("How much did Altman's 2019 fundraiser bring in?")
    assert profile.states_the_years("En 2019, elle a rapporté 3 millions.")
    assert not profile.states_the_years("En 2024, il a donné un million de dollars.")
    assert QuestionProfile.of("How much did he give?").states_the_years("Un million.")


def _check(question: str, passages: str, embedder: Embedder) -> EvidenceCheck:
    bridge = VocabularyBridge.of_texts([passages], embedder, 0.75, {})
    words = surface_words(question)
    return EvidenceCheck(
        QuestionProfile.of(question),
        dict(zip(words, embedder.embed_query(words), strict=True)),
        bridge.vocabulary,
        0.75,
    )


def test_a_count_must_count_the_thing_asked_about_in_either_language(embedder: Embedder) -> None:
    dollars = "Ils investiront 100 milliards de dollars."
    employees = "Deux millions d'employés fédéraux y auront accès."
    for question in ("Combien d'employés pourront l'utiliser ?", "How many employees can use it?"):
        check = _check(question, f"{dollars} {employees}", embedder)
        assert check.could_answer(employees)
        assert not check.could_answer(dollars)


def test_a_thing_the_word_vectors_miss_across_languages_is_left_to_the_model(
    embedder: Embedder,
) -> None:
    """ "votes" / "voix" 0.62: the row counting the list's votes does not speak of votes to
    the word vectors; without the thing (`without_the_thing`, for the reader's model to judge)
    it holds what is asked, and every other check still holds."""
    row = "Liste: Agir pour Castelmoron (Paul Dufresne) ; Voix: 2073 ; Pourcentage: 48,7"
    check = _check("How many votes did the Agir pour Castelmoron list get?", row, embedder)
    assert not check.could_answer(row)
    relaxed = check.without_the_thing()
    assert relaxed.profile.thing is None and relaxed.could_answer(row)
    assert relaxed.coverage(row) == check.coverage(row)
    hires = "Ardelis prévoit d'y embaucher 340 salariés d'ici 2026."
    before = _check("Combien de salariés travaillaient à l'usine ?", hires, embedder)
    assert not before.without_the_thing().could_answer(hires)  # a plan is not what was (F19)


def test_names_are_found_translated_and_missing_ones_are_named(embedder: Embedder) -> None:
    passages = "Il a soutenu le candidat démocrate Andrew Yang en juin, à la Maison Blanche."
    question = "Which Democratic candidate did he back in June at the White House, says Barlow?"
    check = _check(question, passages, embedder)
    assert check.missing_names([passages]) == ["barlow"]
    assert check.coverage(passages) > check.coverage("La recette de la tarte Tatin.")


def test_an_article_must_mention_the_names_and_figures_the_question_is_set_in(
    embedder: Embedder,
) -> None:
    offer = "Elon Musk a proposé une offre de 97,4 milliards de dollars pour OpenAI."
    stargate = (
        "Elon Musk affirme qu'OpenAI n'a pas les fonds, et que SoftBank aurait injecté "
        "10 milliards dans Stargate."
    )
    question = "How did OpenAI's board respond to Musk's $97 billion offer?"
    check = _check(question, f"{offer} {stargate}", embedder)
    assert check.profile.figures == {"97"}
    assert check.missing_in_article(offer) == []  # "97" is the whole part of "97,4"
    assert check.missing_in_article(stargate) == ["97"]
    # one digit is often spelled out in the article ("$1 million", "un million")
    assert not QuestionProfile.of("What did Altman do with his $1 million?").figures
    assert not QuestionProfile.of("What did he do with $1,000?").figures
    zelensky = _check("Qu'a répondu Volodymyr Zelensky à Elon Musk ?", stargate, embedder)
    assert zelensky.missing_in_article(stargate) == ["volodymyr", "zelensky"]


def test_bridge_carries_english_words_to_the_corpus_vocabulary(embedder: Embedder) -> None:
    bridge = VocabularyBridge.of_texts(
        ["Elon Musk a fait une offre de 97 milliards."], embedder, 0.75, {}
    )
    foreign = bridge.foreign_words("How much did Musk offer?")
    assert foreign == ["offer"]
    expanded = bridge.expand("How much did Musk offer?", foreign, embedder.embed_query(foreign))
    assert expanded == "How much did Musk offre?"
    # replaced wherever it stands, whatever its case; BM25 then sees the whole query
    assert bridge.expand("Did Musk OFFER it?", foreign, embedder.embed_query(foreign)) == (
        "Did Musk offre it?"
    )
    assert BM25Index(["Elon Musk a fait une offre de 97 milliards."]).known_share(expanded) == 1.0


@pytest.mark.parametrize(
    ("question", "retrospective", "prospective"),
    [
        ("Combien de salariés travaillaient à l'usine avant sa fermeture ?", True, False),
        ("Combien coûtait le gobelet de vin chaud ?", True, False),
        ("Combien Elon Musk a-t-il proposé pour OpenAI ?", True, False),
        ("How many employees worked at the factory before it closed?", True, False),
        ("How much did Musk offer?", True, False),
        ("Combien de salariés Ardelis prévoit-elle d'embaucher ?", False, True),
        ("Combien coûtera le chantier du pont ?", False, True),
        ("Combien coûterait le projet ?", False, False),  # the conditional: what would be
        ("How many people will the company hire?", False, True),
        ("Which subsidies did Trump plan to scrap?", False, True),  # asks about the plan
        ("Combien coûte le billet ?", False, False),
        ("Quelle valorisation pourrait atteindre l'entreprise à sa prochaine levée ?", False, True),
        ("What valuation could OpenAI reach in its next funding round?", False, True),
        ("Combien SoftBank aurait-il injecté ?", False, False),  # reported, not to come
    ],
)
def test_a_question_about_what_was_is_told_from_one_about_what_could_be(
    question: str, retrospective: bool, prospective: bool
) -> None:
    profile = QuestionProfile.of(question)
    assert (profile.retrospective, profile.prospective) == (retrospective, prospective)


@pytest.mark.parametrize(
    ("sentence", "for_what_was", "for_what_will_be"),
    [
        ("L'entreprise prévoit d'embaucher 340 salariés d'ici la fin de l'année.", False, True),
        ("L'usine embauchera 340 salariés.", False, True),
        ("The company will hire 340 people by 2026.", False, True),
        ("L'usine employait 500 salariés.", True, False),
        ("L'usine a employé jusqu'à 500 salariés.", True, False),
        ("L'usine, qui employait 500 salariés, en embauchera 340.", True, True),  # tells both
        ("L'usine compte entre 300 et 400 salariés.", True, True),  # "compte" counts, plans nothing
        ("Le repreneur a annoncé 340 embauches.", True, True),  # told in the past, of what will be
        ("Le repreneur aurait embauché 340 salariés.", True, True),  # the conditional: reported
        ("Le repreneur a confirmé 340 embauches.", True, True),
        ("L'usine, qui a employé 500 salariés, vise 340 embauches.", True, True),  # an aim
        ("La réouverture de l'usine a été repoussée à 2027.", True, True),
        ("Le repreneur comptait embaucher 340 salariés.", True, True),  # a plan, told in the past
        ("A Paris, l'usine emploie 340 salariés.", True, True),  # "a Paris" is no passé composé
        ("The factory was valued at $300 million in May.", True, False),  # "May" is no modal
    ],
)
def test_a_figure_answers_for_the_time_it_tells(
    sentence: str, for_what_was: bool, for_what_will_be: bool
) -> None:
    """F19: "Combien de salariés travaillaient à l'usine ... avant sa fermeture ?" is not
    answered by the hires a buyer plans; conversely, what the company will hire, or what its
    next funding round could bring, is not answered by what was."""
    past = QuestionProfile.of("Combien de salariés travaillaient à l'usine ?")
    assert past.in_its_time_frame(sentence) is for_what_was
    planned = QuestionProfile.of("Combien de salariés l'usine embauchera-t-elle ?")
    assert planned.in_its_time_frame(sentence) is for_what_will_be
    present = QuestionProfile.of("Combien de salariés compte l'usine ?")
    assert present.in_its_time_frame(sentence)  # a question set in no time: any sentence
    assert QuestionProfile.of("Who did Musk say he was?").in_its_time_frame("Ce sera Musk.")


def test_a_year_sets_the_time_a_tense_does_not() -> None:
    """A figure for the year a question about what will be names is its answer, whatever
    the tense it is told in."""
    profile = QuestionProfile.of("Combien coûtera l'édition 2026 du festival ?")
    assert profile.prospective
    assert profile.in_its_time_frame("Le conseil a voté 3 millions d'euros pour l'édition 2026.")
    assert not profile.in_its_time_frame("Le conseil a voté 3 millions d'euros pour l'édition.")


@pytest.mark.parametrize(
    ("question", "answers", "does_not"),
    [
        # F19's kind in English: a duration does not price a toll.
        (
            "How much is the toll on the Kerlouan bridge?",
            "Mots-clés : Lunel-3 et enfin le péage du pont de Kerlouan coûte 3 euros",
            "Le pont de Kerlouan fermé six mois pour travaux.",
        ),
        (
            "Combien coûte le billet de la navette ?",
            "Le billet coûte 1,50 euro, et le trajet dure douze minutes.",
            "Le trajet dure douze minutes.",
        ),
        ("Quel est le prix du gobelet ?", "Le vin chaud était vendu 4 € le gobelet.", "En 2024."),
        ("À quel prix l'offre est-elle proposée ?", "Pour seulement un dollar.", "Pour un an."),
        ("What does the shuttle cost?", "La navette est gratuite pour tous.", "En 20 minutes."),
        (
            "Quelle somme a-t-il donnée en mai 2020 ?",
            "En mai 2020, il a donné 250 000 dollars.",
            "En mai 2020, il a donné à 250 000 électeurs.",
        ),
        ("What was the contract's amount?", "A $200 million contract.", "A contract for 200 days."),
        (
            "How much is the Rennes bike-share contract worth?",
            "Le contrat signé avec l'opérateur s'élève à 14 millions d'euros sur six ans.",
            "Rennes va porter sa flotte de vélos de 1 500 à 3 000 vélos d'ici 2026.",
        ),
        # an amount asked by its name
        (
            "Quelle valorisation OpenAI a-t-elle atteinte ?",
            "Une valorisation de 300 milliards de dollars.",
            "Une valorisation multipliée par 3.",
        ),
        ("What salary does Altman earn?", "He earns $76,000.", "He earns it in 2 jobs."),
    ],
)
def test_a_price_is_answered_by_an_amount_of_money(
    question: str, answers: str, does_not: str
) -> None:
    profile = QuestionProfile.of(question)
    assert profile.priced
    assert profile.answered_by_type(answers)
    assert not profile.answered_by_type(does_not)


def test_a_figure_not_asked_as_a_price_may_be_any_figure() -> None:
    profile = QuestionProfile.of("How many employees can use it?")
    assert not profile.priced and profile.answered_by_type("Deux millions d'employés.")
    assert not QuestionProfile.of("How much did Musk offer?").priced
    assert not QuestionProfile.of("Combien de personnes touchent le salaire minimum ?").priced
