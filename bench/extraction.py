"""`python -m bench.extraction`: what trafilatura and the project's cleaning rules each remove,
on the sample's plain-text scrapes and on the field cases' HTML pages.

For each file it prints the lines each method keeps and the lines one removes that the other
keeps. The sample is plain text, so trafilatura sees it as a page of paragraphs (each line a
`<p>`, as a scraper would have saved it); the HTML pages are cleaned by the rules after a bare
text extraction (every visible line, trafilatura's `html2txt`), as the project did before.
"""

from __future__ import annotations

import html

import trafilatura

from config import PROJECT_ROOT
from ingest.cleaning import clean, normalise
from ingest.formats import html_to_article

FIELD = PROJECT_ROOT / "tests" / "field"


def _lines(text: str) -> list[str]:
    return [line for line in normalise(text).split("\n") if line]


def compare(name: str, rules_text: str, extractor_text: str, source_lines: list[str]) -> None:
    """Print one file's figures: lines in the source, kept by each, removed by one only."""
    rules, extractor = set(_lines(rules_text)), set(_lines(extractor_text))
    print(f"\n{name}: {len(source_lines)} source lines; rules keep {len(rules)}, "
          f"trafilatura keeps {len(extractor)}")  # fmt: skip
    for line in source_lines:
        if line in rules and line not in extractor:
            print(f"  only the rules keep:      {line[:90]}")
        elif line in extractor and line not in rules:
            print(f"  only trafilatura keeps:   {line[:90]}")


def main() -> None:
    """Compare both methods on data/articles/*.txt and tests/field/*.html."""
    for path in sorted((PROJECT_ROOT / "data" / "articles").glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        page = "<html><body>" + "".join(
            f"<p>{html.escape(line)}</p>" for line in raw.split("\n") if line.strip()
        ) + "</body></html>"  # fmt: skip
        extracted, _ = html_to_article(page)
        compare(path.name, clean(raw).text, extracted, _lines(raw))
    for path in sorted(FIELD.glob("*.html")):
        page = path.read_text(encoding="utf-8")
        visible = trafilatura.html2txt(page) or ""
        bare = "\n".join(_visible_lines(page)) or visible
        extracted, _ = html_to_article(page)
        compare(path.name, clean(bare).text, extracted, _lines(bare))


def _visible_lines(page: str) -> list[str]:
    """Every text line of the page's body, scripts and styles left out (lxml)."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(page)
    for element in tree.xpath("//script|//style|//head"):
        element.drop_tree()
    return [line.strip() for line in tree.text_content().split("\n") if line.strip()]


if __name__ == "__main__":
    main()
