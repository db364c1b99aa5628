from __future__ import annotations

from pathlib import Path

import pytest

from ingest.readers import UnreadableFile, discover, html_to_text, markdown_to_text, read_document


def test_html_is_reduced_to_visible_text() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body><nav>Menu</nav>"
        "<h1>Le titre</h1><p>Premier &amp; <b>seul</b> paragraphe.</p>"
        "<script>alert(1)</script><footer>Mentions</footer></body></html>"
    )
    assert html_to_text(html) == "Le titre\nPremier & seul paragraphe."


def test_markdown_keeps_words_drops_markup() -> None:
    text = markdown_to_text("# Titre\n\nUn [lien](http://x) et **gras** ![img](a.png)")
    assert text == "Titre\n\nUn lien et gras "


def test_undecodable_and_binary_files_are_named_in_the_error(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Élysée".encode("latin-1"))
    with pytest.raises(UnreadableFile, match=r"latin\.txt: not valid UTF-8"):
        read_document(latin)
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
