"""A date's "prochain" / "dernier" put back in the English written from a French sentence."""

from __future__ import annotations

import pytest

from app.services.answering.relative_dates import restore_relative_dates

ONE_YEAR = "Cette initiative, qui s’étendra sur toute l’année prochaine, vise à intégrer l’IA."


@pytest.mark.parametrize(
    ("french", "english", "expected"),
    [
        # what the bundled model wrote for these sentences (written apart from the sets)
        (
            "Le club a été racheté en juin dernier par un fonds américain.",
            "The club was bought by a US fund in June.",
            "The club was bought by a US fund last June.",
        ),
        (
            "L'usine fermera ses portes l'été prochain, a annoncé la direction lundi dernier.",
            "The factory will close its doors in the summer, announced by the direction on Monday.",
            "The factory will close its doors next summer, announced by the direction last Monday.",
        ),
        (
            "La navette sera gratuite tout l'été prochain pour les habitants.",
            "The bus will be free for all residents this summer.",
            "The bus will be free for all residents next summer.",
        ),
        (
            "Les prix augmenteront de 4 % dès janvier prochain.",
            "Prices will increase by 4% from January.",
            "Prices will increase by 4% from next January.",
        ),
        (ONE_YEAR, "It will extend throughout the year.", "It will extend throughout next year."),
        (  # q042's answer in the model's words: "last" the verb places nothing
            ONE_YEAR,
            "The offer will last for the entire year [1].",
            "The offer will last for all of next year [1].",
        ),
        ("Il a été élu en mai dernier.", "In May, he was elected.", "Last May, he was elected."),
    ],
)
def test_a_date_left_bare_gets_its_qualifier_back(french: str, english: str, expected: str) -> None:
    assert restore_relative_dates(french, english) == expected


@pytest.mark.parametrize(
    ("french", "english"),
    [
        # placed already, before or after the noun
        ("La mairie votera le budget le mois prochain.", "It will vote in the coming month."),
        ("Jusqu'en mars prochain.", "Until March next year."),
        ("Il a été élu en mai dernier.", "He was elected last May."),
        ("L'an dernier, 70 000 visiteurs.", "Two years ago, 70,000 visitors."),
        # "may" is no month; a noun the English does not state; no relative date in the French
        ("Il a été élu en mai dernier.", "He may have been elected."),
        ("Il a été élu en mai dernier.", "He was elected recently."),
        ("Le festival a lieu en juin.", "The festival takes place in June."),
        # ambiguous: the French or the English states the noun twice
        ("Cette année la montée ; l'année prochaine, la Ligue 1.", "This year, then the year."),
        (ONE_YEAR, "The year began well, and the year will end well."),
    ],
)
def test_anything_else_is_left_as_written(french: str, english: str) -> None:
    assert restore_relative_dates(french, english) == english
