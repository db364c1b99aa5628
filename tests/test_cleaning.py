from __future__ import annotations

from ingest.cleaning import clean
from tests.conftest import ARTICLES


def article(prefix: str) -> str:
    return next(ARTICLES.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def test_stargate_page_loses_its_footer_newsletter_and_teasers() -> None:
    doc = clean(article("004"))
    for noise in (
        "Assurance-vie luxembourgeoise",
        "Abonnez-vous",
        "S'abonner",
        "newsletter",
        "Partager cet article",
        "Commentaires",
        "You've been subscribed",
        "riche normal",
        "compte courant",
        "Rédaction",
        "FLORENT MACHABERT",
        "Unsplash",
        "Internet neutre",
    ):
        assert noise not in doc.text, noise
    assert doc.title == "Projet Stargate : Elon Musk étrille le génie de l’IA Sam Altman"
    assert doc.text.count("Projet Stargate : Elon Musk étrille") == 1
    # The article itself is whole, up to its last sentence.
    assert "500 milliards de dollars" in doc.text
    assert doc.text.endswith("spécialisée dans l’intelligence artificielle.")


def test_read_also_lines_pingbacks_and_comment_prompts_go_sources_stay() -> None:
    doc = clean(article("000"))
    assert "Lire aussi" not in doc.text and "Lire également" not in doc.text
    assert "Retour de ping" not in doc.text and "Mayotte" not in doc.text
    assert "en commentaire" not in doc.text
    assert "La France devrait-elle s’en inspirer ?" in doc.text
    assert doc.sources == ["New York Times", "Forbes"]


def test_repeated_headline_kept_once_and_credits_and_teaser_links_dropped() -> None:
    doc = clean(article("002"))
    assert doc.text.count("Musk est le nouveau chouchou de Trump") == 1
    assert "Images |" not in doc.text and "Simseo" not in doc.text
    assert doc.text.endswith("– ou pas.")


def test_date_prefix_becomes_metadata_and_tables_survive() -> None:
    dated = clean(article("001"))
    assert dated.date == "2025-04"
    assert dated.text.startswith("Dans ce qui pourrait bien chambouler")
    table = clean(article("003"))
    assert "2025 | 40 milliards $ | 300 milliards $ |" in table.text


def test_cleaning_generalises_to_another_site() -> None:
    page = "\n".join(
        [
            "Record heat in Lyon this summer",
            "Share this article",
            "Publié le 3 juillet 2024",
            "Temperatures reached 41 degrees in Lyon on Tuesday, a record for the city. " * 3,
            "Read more: Ten tips for a cooler flat",
            "Photo by Jane Doe / Agency",
            "Meteorologists expect the heat to last until the weekend.",
            "Sign up for our newsletter",
            "Top 10 beaches of the Riviera",
            "Top 10 beaches of the Riviera",
            "A teaser of another story that must not be indexed.",
        ]
    )
    doc = clean(page)
    assert doc.date == "2024-07-03"
    assert "41 degrees" in doc.text and "until the weekend" in doc.text
    for noise in ("Share this", "Read more", "Photo by", "newsletter", "Riviera", "teaser"):
        assert noise not in doc.text, noise


def test_consecutive_repeated_line_after_the_body_starts_the_teaser_zone() -> None:
    body = "Un long paragraphe d’article qui raconte les faits avec précision. " * 6
    doc = clean(f"Titre\n{body}\nAutre article\nAutre article\nSon chapeau.")
    assert "Autre article" not in doc.text and "Son chapeau" not in doc.text
    assert doc.text.startswith("Titre\n")
