"""HTML pages and Markdown files reduced to an article's text and what is known about it.

HTML goes through trafilatura (Barbaresi, 2021, "Trafilatura: A Web Scraping Library and
Command-Line Tool for Text Discovery and Extraction"), the field's standard main-text extractor
for news pages: it keeps the article and leaves out consent banners, subscription teasers,
navigation, related-article lists and scripts, and finds the headline, date, author and site
name. Markdown has its front matter read by python-frontmatter and its markup rendered by
markdown-it-py, so that neither `---`, `tags: [...]` nor `**` ends up in a citation.

Both are rendered to text the same way, one block (paragraph, heading, list item) per line, and a
table one row per line with its cells apart, each labelled with its column's header:
"Liste: Agir pour Castelmoron ; Voix: 2073 ; Pourcentage: 48,7". A row is then a sentence that
names what its numbers count, which a question about "voix" can find and quote.
"""

from __future__ import annotations

import datetime as dt
import re
from configparser import ConfigParser
from dataclasses import dataclass

import frontmatter
import trafilatura
import yaml
from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from trafilatura.settings import use_config

_MONTHS_FR = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)


@dataclass(frozen=True)
class PageMeta:
    """What a document's format says about it, beside its text.

    `date` is ISO (YYYY-MM-DD) or empty; `scraped` is True for plain text, whose page furniture
    the project's own cleaning removes (`ingest.cleaning`), and False for text an extractor or a
    Markdown renderer already reduced to the article. A page fetched from a feed has its `url`
    (stored as the document's source) and the feed's `stamp` for it (its updated or published
    time as the feed writes it), which tells the next poll that it has not changed.
    """

    title: str = ""
    date: str = ""
    author: str = ""
    site: str = ""
    tags: tuple[str, ...] = ()
    scraped: bool = True
    url: str = ""
    stamp: str = ""


# Elements whose text flows inside a line; every other element starts and ends one.
_INLINE = {
    "a", "abbr", "b", "cite", "code", "del", "em", "hi", "i", "ins", "kbd", "mark", "q", "ref",
    "s", "small", "span", "strong", "sub", "sup", "time", "u",
}  # fmt: skip
_BREAK = {"br", "lb", "hr"}
_SKIP = {"script", "style", "noscript", "template", "img", "graphic", "svg", "iframe"}
_TABLE = "table"
_ROW = {"row", "tr"}
_CELL = {"cell", "td", "th"}
_CELL_SEPARATOR = " ; "


def _extractor_config() -> ConfigParser:
    """trafilatura's defaults, but a page of a few words is still a page (below
    MIN_EXTRACTED_SIZE, 250 characters by default, trafilatura swaps its result for a baseline
    that keeps the navigation and loses the paragraphs), and no signal-based timeout (uploads
    are extracted outside the main thread)."""
    config = use_config()
    config.set("DEFAULT", "MIN_FILE_SIZE", "1")
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


_CONFIG = _extractor_config()


def html_to_article(html: str) -> tuple[str, PageMeta]:
    """The main text of a news page and its metadata (trafilatura), one block per line.

    Falls back to trafilatura's recall mode, then to the page's whole visible text, for a page
    whose article the precise mode does not find; returns ("", PageMeta(...)) for a page with no
    text at all.
    """
    xml = _extract(html, favor_recall=False) or _extract(html, favor_recall=True)
    if xml is None:
        text = trafilatura.html2txt(html) or ""
        return "\n".join(_squeeze(line) for line in text.splitlines() if line.strip()), PageMeta(
            scraped=False
        )
    doc = etree.fromstring(xml.encode("utf-8"))
    main = doc.find("main")
    lines = render(main if main is not None else doc)
    attrs = doc.attrib
    title = _squeeze(attrs.get("title") or "")
    if title and (not lines or lines[0] != title):
        lines.insert(0, title)  # the headline, which the extractor may keep out of the body
    tags = [*_split_tags(attrs.get("tags")), *_split_tags(attrs.get("categories"))]
    return "\n".join(lines), PageMeta(
        title=title,
        date=iso_date(attrs.get("date")),
        author=_squeeze(attrs.get("author") or ""),
        site=_squeeze(attrs.get("sitename") or ""),
        tags=tuple(dict.fromkeys(tags)),
        scraped=False,
    )


def _extract(html: str, favor_recall: bool) -> str | None:
    """trafilatura's XML: the article's blocks and tables, its metadata as attributes."""
    return trafilatura.extract(
        html,
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        with_metadata=True,
        favor_recall=favor_recall,
        config=_CONFIG,
    )


_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def markdown_to_article(markdown: str) -> tuple[str, PageMeta]:
    """A Markdown file's words without markup, and its YAML front matter as metadata.

    Front matter that is not valid YAML is left out of the text all the same (its `---` fences
    say what it is) and gives no metadata. The text keeps `scraped=True`: a Markdown scrape
    carries page furniture as plain text does.
    """
    metadata: dict[str, object] = {}
    try:
        metadata, content = frontmatter.parse(markdown)
    except yaml.YAMLError:
        content = _FRONT_MATTER.sub("", markdown, count=1)
    page = lxml_html.fragment_fromstring(
        _MARKDOWN.render(content) or "<p></p>", create_parent="div"
    )
    text = "\n".join(render(page))

    def field(*names: str) -> object:
        return next((metadata[n] for n in names if metadata.get(n) not in (None, "")), "")

    author = field("author", "authors", "byline")
    if isinstance(author, list):
        author = ", ".join(str(a) for a in author)
    tags = [*_as_list(field("tags", "keywords")), *_as_list(field("categories", "category"))]
    return text, PageMeta(
        title=_squeeze(str(field("title", "headline"))),
        date=iso_date(field("date", "published", "pubDate", "publishDate")),
        author=_squeeze(str(author)),
        site=_squeeze(str(field("site", "site_name", "publisher"))),
        tags=tuple(dict.fromkeys(tags)),
        scraped=True,
    )


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def render(root: etree._Element) -> list[str]:
    """The text of an element tree, one line per block and per table row (see the module's
    docstring); inline markup (links, emphasis) keeps its words and loses its marks."""
    lines: list[str] = []
    buffer: list[str] = []
    _render(root, lines, buffer)
    _flush(buffer, lines)
    return lines


def _render(element: etree._Element, lines: list[str], buffer: list[str]) -> None:
    if element.text:
        buffer.append(element.text)
    for child in element:
        tag = _tag(child)
        if tag is None or tag in _SKIP:
            pass
        elif tag == _TABLE:
            _flush(buffer, lines)
            lines.extend(_table_rows(child))
        elif tag in _BREAK:
            _flush(buffer, lines)
        elif tag in _INLINE:
            _render(child, lines, buffer)
        else:
            _flush(buffer, lines)
            _render(child, lines, buffer)
            _flush(buffer, lines)
        if child.tail:
            buffer.append(child.tail)


def _table_rows(table: etree._Element) -> list[str]:
    """One line per row; with a header row, each cell after the first reads "header: value"."""
    rows: list[tuple[list[str], bool]] = []
    for row in table.iter():
        if _tag(row) not in _ROW:
            continue
        cells = [c for c in row if _tag(c) in _CELL]
        texts = [" ".join(render(c)) for c in cells]
        is_head = bool(cells) and all(_tag(c) == "th" or c.get("role") == "head" for c in cells)
        rows.append((texts, is_head))
    header = rows[0][0] if rows and rows[0][1] else None
    lines = []
    for texts, is_head in rows:
        if is_head and texts == header:
            continue
        if header and len(header) == len(texts):
            cells = [f"{h}: {v}" if h else v for h, v in zip(header, texts, strict=True) if v]
        else:
            cells = [t for t in texts if t]
        if cells:
            lines.append(_CELL_SEPARATOR.join(cells))
    return lines


def _tag(element: etree._Element) -> str | None:
    """The element's local name in lower case; None for comments and processing instructions."""
    if not isinstance(element.tag, str):
        return None
    return etree.QName(element).localname.lower()


def _flush(buffer: list[str], lines: list[str]) -> None:
    line = _squeeze("".join(buffer))
    if line:
        lines.append(line)
    buffer.clear()


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _split_tags(value: str | None) -> list[str]:
    return [t.strip() for t in re.split(r"[,;]", value or "") if t.strip()]


def _as_list(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [_squeeze(str(v)) for v in value if str(v).strip()]
    return _split_tags(str(value)) if value else []


def iso_date(value: object) -> str:
    """A date as YYYY-MM-DD from a date, a datetime, an ISO string (with or without time and
    zone), "21/03/2025" or "21 mars 2025"; "" when it is none of them."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value or "").strip()
    if m := re.match(r"(\d{4})-(\d{2})-(\d{2})", text):
        return _checked(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text):
        return _checked(int(m[3]), int(m[2]), int(m[1]))
    if m := re.fullmatch(r"(\d{1,2})(?:er)?\s+(\w+)\s+(\d{4})", text, re.I):
        month = m[2].lower()
        if month in _MONTHS_FR:
            return _checked(int(m[3]), _MONTHS_FR.index(month) + 1, int(m[1]))
    return ""


def _checked(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return ""
