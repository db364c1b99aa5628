from __future__ import annotations

from pathlib import Path

import pytest

from ingest.formats import html_to_article, iso_date, markdown_to_article
from ingest.readers import UnreadableFile, decode_text, discover, read_document

FIELD = Path(__file__).parent / "field"


def test_html_keeps_the_article_and_leaves_out_scripts_navigation_and_footer() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body><nav>Menu Accueil</nav>"
        "<article><h1>Le titre</h1><p>Premier &amp; <b>seul</b> paragraphe de l’article.</p>"
        "<script>alert(1)</script></article><footer>Mentions légales</footer></body></html>"
    )
    text, meta = html_to_article(html)
    assert text == "Le titre\nPremier & seul paragraphe de l’article."
    assert meta.title == "Le titre" and not meta.scraped


def test_f09_consent_banner_and_teaser_stay_out_and_the_headline_is_the_title() -> None:
    """F09: the cookie banner, the subscription teaser, the script's text and the aside."""
    text, meta = html_to_article((FIELD / "f09_marathon_lunel.html").read_text(encoding="utf-8"))
    assert meta.title == "Marathon de Lunel-Viel : le record de l'épreuve battu"
    assert meta.date == "2025-04-06"
    assert "Samuel Kiprono" in text and "12 avril 2026" in text
    for furniture in ("cookies", "Abonnez-vous", "démissionné", "iPhone", "Mentions légales"):
        assert furniture not in text


def test_f10_a_table_row_is_a_line_whose_cells_stay_apart_under_their_headers() -> None:
    text, meta = html_to_article(
        (FIELD / "f10_resultats_municipales.html").read_text(encoding="utf-8")
    )
    assert "Liste: Agir pour Castelmoron (Paul Dufresne) ; Voix: 2073 ; Pourcentage: 48,7" in (
        text.split("\n")
    )
    assert "207348,7" not in text and meta.date == "2025-03-17"


def test_f11_front_matter_is_metadata_and_markup_is_gone() -> None:
    text, meta = markdown_to_article(
        (FIELD / "f11_velo_rennes_frontmatter.md").read_text(encoding="utf-8")
    )
    assert meta.title == "Vélos en libre-service : Rennes double sa flotte"
    assert (meta.date, meta.author) == ("2025-03-21", "Rédaction Ouest-Express")
    assert meta.tags == ("mobilité", "vélo", "Rennes", "transports")
    assert "---" not in text and "tags" not in text and "**" not in text
    assert "Le contrat signé avec l’opérateur" in text.replace("'", "’")


def test_markdown_keeps_words_drops_markup() -> None:
    text, meta = markdown_to_article(
        "# Titre\n\nUn [lien](http://x) et **gras** ![img](a.png)\n\n"
        "| Ville | Habitants |\n|---|---|\n| Brest | 140 000 |\n"
    )
    assert text == "Titre\nUn lien et gras\nVille: Brest ; Habitants: 140 000"
    assert meta.title == "" and meta.scraped


def test_front_matter_that_is_not_yaml_is_still_left_out_of_the_text() -> None:
    text, meta = markdown_to_article("---\ntitle: [pas fermé\n---\nLe corps du texte.")
    assert text == "Le corps du texte." and meta.title == ""


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2025-03-21", "2025-03-21"),
        ("2025-03-21T08:15:00+01:00", "2025-03-21"),
        ("21/03/2025", "2025-03-21"),
        ("1er mars 2025", "2025-03-01"),
        ("31/02/2025", ""),
        ("bientôt", ""),
    ],
)
def test_dates_are_normalised_to_iso(value: str, iso: str) -> None:
    assert iso_date(value) == iso


def test_f05_windows_1252_is_decoded_with_its_accents_and_euro() -> None:
    data = (FIELD / "f05_marche_noel_cp1252.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = decode_text(data, ".txt", "f05.txt")
    assert "Noël" in text and "œuvres" in text and "4 € le gobelet" in text


def test_an_html_page_is_decoded_by_its_declared_charset() -> None:
    page = '<html><head><meta charset="iso-8859-15"></head><body><p>L’œuvre : 5 €</p></body>'
    data = page.replace("’", "'").encode("iso8859_15")
    assert "L'œuvre : 5 €" in decode_text(data, ".html", "page.html")


def test_short_latin_1_text_is_read_and_binary_is_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Élysée".encode("latin-1"))
    assert read_document(latin).text == "Élysée"
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(UnreadableFile, match=r"blob\.txt: looks like a binary file"):
        read_document(binary)


def test_discover_expands_folders_and_explains_what_it_skips(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.html").write_text("<p>b</p>")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
    files, skipped = discover([tmp_path, tmp_path / "c.pdf", tmp_path / "missing.txt"])
    assert [f.name for f in files] == ["a.txt", "b.html"]
    assert [(p.name, why.split(" ")[0]) for p, why in skipped] == [
        ("c.pdf", "unsupported"),
        ("missing.txt", "no"),
    ]
