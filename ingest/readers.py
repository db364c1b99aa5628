"""Reading article files: plain text, Markdown and HTML, each reduced to plain text."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePath

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}


class UnreadableFile(Exception):
    """A file that cannot be read or decoded; the message names it and says why."""


@dataclass(frozen=True)
class RawDocument:
    path: PurePath
    text: str
    raw_hash: str


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders into the supported files below them; return (files, skipped with reason)."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
        elif not path.exists():
            skipped.append((path, "no such file or folder"))
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(
                (
                    path,
                    f"unsupported type {path.suffix or '(none)'}; "
                    f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
                )
            )
        else:
            files.append(path)
    return files, skipped


def read_document(path: Path) -> RawDocument:
    """Read a file as UTF-8 and reduce it to plain text according to its type."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return RawDocument(
        path, decode_text(data, path.suffix.lower(), str(path)), hashlib.sha256(data).hexdigest()
    )


def decode_text(data: bytes, suffix: str, name: str) -> str:
    """Decode bytes of a supported type into plain text; UnreadableFile when they are not text."""
    if b"\x00" in data[:8192]:
        raise UnreadableFile(f"{name}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{name}: not valid UTF-8 (byte {exc.start}); convert it, e.g. iconv -t UTF-8"
        ) from exc
    if suffix in {".html", ".htm"}:
        return html_to_text(text)
    if suffix in {".md", ".markdown"}:
        return markdown_to_text(text)
    return text


class _TextExtractor(HTMLParser):
    """Collects the visible text of a page, one block element per line."""

    _SKIP = {
        "script",
        "style",
        "noscript",
        "nav",
        "footer",
        "aside",
        "iframe",
        "svg",
        "button",
        "select",
        "textarea",
        "template",
        "head",
    }
    _BLOCK = {
        "p",
        "div",
        "section",
        "article",
        "header",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "br",
        "tr",
        "table",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "main",
        "dd",
        "dt",
        "hr",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML page, without scripts, styles, navigation or footers."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (
        re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n")
    )
    return "\n".join(line for line in lines if line)


_MD_RULES = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),  # heading marks
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # block quotes
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # italics
    (re.compile(r"^\s*```.*$", re.M), ""),  # code fences
]


def markdown_to_text(markdown: str) -> str:
    """Markdown with its markup removed, keeping the words."""
    for pattern, replacement in _MD_RULES:
        markdown = pattern.sub(replacement, markdown)
    return markdown
