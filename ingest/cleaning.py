"""Cleaning scraped news pages: the article stays, the page furniture goes.

Scraped articles carry the same kinds of noise whatever the site, so the rules name kinds, not
strings of one corpus:

- furniture lines: share buttons, "Lire aussi" / "Read more" links, image credits, pingbacks,
  subscription widgets' states; dropped one line at a time;
- the page footer: a comments heading or a newsletter/subscription block ends the article, and
  everything after it (teasers of other articles, bylines) goes with it;
- teaser cards: a line repeated at once (title shown twice on a card) after the article's body has
  begun marks the start of a list of other articles;
- navigation crumbs: an isolated line of " | "-separated fragments that is not part of a table;
- repeated lines: a headline printed twice is kept once;
- comment prompts inside a paragraph ("Dites-nous ce que vous en pensez en commentaire !").

Metadata found on the way: the date ("date 2025-04", "Publié le 21 janvier 2025") and the sources
the article names ("Source : New York Times").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vectorstore.tokens import canonical

_I = re.IGNORECASE
_APOS = "['’]"

_FURNITURE = re.compile(
    r"^(?:"
    r"(?:partager|partagez|share|tweet(?:er)?|imprimer|print|copier le lien|envoyer par e-?mail)"
    r"(?:\s+(?:cet|cette|this|sur|on|l" + _APOS + r")?\s*(?:article|page|story|facebook|twitter|x"
    r"|linkedin|whatsapp)?)?\s*[:!.]?"
    r"|(?:facebook|twitter|linkedin|whatsapp|pinterest|telegram|e-?mail)(?:\s*[|/·,]\s*\w+)*"
    r"|(?:[àa]\s+)?(?:lire|voir|[ée]couter|regarder)\s+(?:aussi|[ée]galement|encore|plus)\b.*"
    r"|(?:read|see)\s+(?:also|more)\b.*|related\s*:.*"
    r"|(?:retour de ping|pingback|trackback)\b.*"
    r"|(?:images?|photos?|cr[ée]dits?(?: photo)?|illustration|crédit image)\s*(?::|\||©|/).*"
    r"|photo\s+(?:by|de|par)\s+.*/.*|©.*"
    r"|you" + _APOS + r"ve been subscribed!?|abonnement en cours\.*|inscription en cours\.*"
    r"|quelque chose s" + _APOS + r"est mal pass[ée]e?\.?|something went wrong\.?"
    r"|publicit[ée]|advertisement|sponsoris[ée]"
    r")$",
    _I,
)

_FOOTER_START = re.compile(
    r"^(?:"
    r"\d*\s*(?:commentaires?|comments?|r[ée]actions?)\s*(?:\(\d+\))?\s*:?"
    r"|(?:laisser|laissez|[ée]crire|ajouter|leave|post|add)\s+(?:un|une|a)\s+(?:commentaire|comment|r[ée]ponse|reply)\b.*"
    r"|(?:s" + _APOS + r"abonner|abonnez-vous|inscrivez-vous|subscribe|sign up)\b.*"
    r"|(?=.{0,90}$).*\bnewsletters?\b.*"
    r"|(?:sur le m[êe]me (?:sujet|th[èe]me)|articles? (?:similaires|li[ée]s|recommand[ée]s)"
    r"|vous (?:aimerez|pourriez aimer) aussi|nos derniers articles|[àa] lire (?:aussi|[ée]galement)"
    r"|related (?:articles|stories)|more stories|you may also like)\s*:?"
    r")$",
    _I,
)

_COMMENT_PROMPT = re.compile(
    r"(?:^|(?<=[.!?…»]\s))[^.!?…]*\b(?:en commentaires?|dans les commentaires|in the comments)"
    r"[^.!?…]*[.!?…]+",
    _I,
)

_SOURCE_LINE = re.compile(r"^sources?\s*:\s*(.+)$", _I)
_DATE_PREFIX = re.compile(r"^\s*date\s*:?\s*(\d{4}-\d{2}(?:-\d{2})?)\b\s*", _I)
_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ],
        start=1,
    )
}
_DATE_LINE = re.compile(
    r"^(?:publi[ée](?:\s+le)?|mis à jour(?:\s+le)?|le|date)\s*:?\s*(\d{1,2})(?:er)?\s+("
    + "|".join(_MONTHS)
    + r")\s+(\d{4}).{0,40}$",
    _I,
)

_BODY_BEFORE_FOOTER = 300  # characters of article needed before a footer rule may cut
_TITLE_MAX = 120


@dataclass
class CleanDocument:
    """The article's clean text and what was learnt about it."""

    text: str
    title: str
    date: str = ""
    sources: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def normalise(text: str) -> str:
    """`canonical`, Unix newlines, ordinary spaces, trimmed lines, at most one blank line in a
    row."""
    text = canonical(text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\u00a0\u202f\u2007\t ]+", " ", text)
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _is_navigation(line: str, prev: str, nxt: str) -> bool:
    """A lone line of ' | '-separated fragments (credits, breadcrumbs, teasers), not a table row."""
    if " | " not in line or line.rstrip().endswith("|"):
        return False
    return "|" not in prev and "|" not in nxt


def _extract_date(lines: list[str]) -> tuple[str, list[str]]:
    if lines and (m := _DATE_PREFIX.match(lines[0])):
        return m.group(1), [lines[0][m.end() :], *lines[1:]]
    for i, line in enumerate(lines[:8]):
        if m := _DATE_LINE.match(line):
            day, month, year = int(m.group(1)), _MONTHS[m.group(2).lower()], m.group(3)
            return f"{year}-{month:02d}-{day:02d}", lines[:i] + lines[i + 1 :]
    return "", lines


def _title_of(text: str) -> str:
    first = next((line for line in text.split("\n") if line), "")
    if len(first) <= _TITLE_MAX:
        return first
    sentence = re.split(r"(?<=[.!?…])\s", first, maxsplit=1)[0]
    if len(sentence) <= _TITLE_MAX:
        return sentence
    return sentence[:_TITLE_MAX].rsplit(" ", 1)[0] + "…"


def clean(raw: str, scraped: bool = True) -> CleanDocument:
    """Reduce a scraped article to its text, with title, date and named sources.

    `scraped=False` is for text an extractor already reduced to the article (HTML through
    trafilatura): only its spaces are normalised and its date and sources read, since the rules
    for page furniture would only remove article text from it (a table's rows, a repeated line).
    """
    date, lines = _extract_date(normalise(raw).split("\n"))
    kept: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    sources: list[str] = []
    body_chars = 0
    for i, line in enumerate(lines):
        key = _key(line)
        prev = lines[i - 1] if i else ""
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if not line:
            if kept and kept[-1]:
                kept.append("")
            continue
        ends_article = _FOOTER_START.match(line) or (key and key == _key(nxt) and key not in seen)
        if scraped and ends_article and body_chars >= _BODY_BEFORE_FOOTER:
            dropped.extend(line for line in lines[i:] if line)
            break
        if scraped and (
            _FURNITURE.match(line)
            or _is_navigation(line, prev, nxt)
            or (len(key) > 3 and key in seen)
        ):
            dropped.append(line)
            continue
        if m := _SOURCE_LINE.match(line):
            sources.extend(s.strip() for s in re.split(r"[,;/]", m.group(1)) if s.strip())
        seen.add(key)
        line, n = _COMMENT_PROMPT.subn("", line) if scraped else (line, 0)
        if n:
            dropped.append("(comment prompt)")
            line = line.strip()
            if not line:
                continue
        kept.append(line)
        body_chars += len(line)
    text = "\n".join(kept).strip()
    return CleanDocument(
        text=text, title=_title_of(text), date=date, sources=sources, dropped=dropped
    )


def _key(line: str) -> str:
    return re.sub(r"\W+", " ", line.lower()).strip()
