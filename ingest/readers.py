"""Reading article files: their bytes decoded, and HTML and Markdown reduced to plain text."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

import charset_normalizer

from ingest.formats import PageMeta, html_to_article, markdown_to_article

HTML_SUFFIXES = {".html", ".htm"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
SUPPORTED_SUFFIXES = {".txt", *MARKDOWN_SUFFIXES, *HTML_SUFFIXES}


class UnreadableFile(Exception):
    """A file that cannot be read or decoded; the message names it and says why."""


@dataclass(frozen=True)
class RawDocument:
    """A document as read: its name, its text (an article's text for HTML, Markdown without
    markup), the hash of its bytes, and what its format said about it."""

    path: PurePath
    text: str
    raw_hash: str
    meta: PageMeta = PageMeta()


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
    """Read an article file of a supported type; UnreadableFile names it and says why not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return parse_document(data, path, str(path))


def parse_document(data: bytes, path: PurePath, name: str) -> RawDocument:
    """Decode an article's bytes and reduce them to text by type (`path`'s suffix): HTML by
    trafilatura, Markdown by its front matter and markup, plain text as it is.

    Raises UnreadableFile (with `name`) for binary data and text no encoding explains.
    """
    suffix = path.suffix.lower()
    text = decode_text(data, suffix, name)
    if suffix in HTML_SUFFIXES:
        text, meta = html_to_article(text)
    elif suffix in MARKDOWN_SUFFIXES:
        text, meta = markdown_to_article(text)
    else:
        meta = PageMeta()
    return RawDocument(path, text, hashlib.sha256(data).hexdigest(), meta)


# Encodings tried first for bytes that are not UTF-8: those of French and English text. Among
# them charset-normalizer picks by its measure of mess; outside them it would rank windows-1250
# as high as windows-1252 for French and decode "œuvres" as "śuvres" (measured on F05).
_WESTERN = ["cp1252", "iso8859_15", "latin_1", "mac_roman", "utf_16", "utf_32"]
# A western decoding messier than this (charset-normalizer's chaos, 0-1) is not taken.
_WESTERN_MAX_CHAOS = 0.1
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w:.]+)""", re.I)


def decode_text(data: bytes, suffix: str, name: str) -> str:
    """Bytes as text: UTF-8 (with or without BOM), else an HTML page's declared charset, else
    the encoding charset-normalizer detects (French and English ones first).

    Raises UnreadableFile for binary data and for bytes that no encoding explains, with
    the message UTF-8 gives.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise UnreadableFile(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        refusal = UnreadableFile(
            f"{name}: not valid UTF-8 (byte {exc.start}); convert it, e.g. iconv -t UTF-8"
        )
    if suffix in HTML_SUFFIXES and (declared := _DECLARED.search(data[:4096])):
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return data.decode(declared.group(1).decode("ascii").lower())
    western = charset_normalizer.from_bytes(data, cp_isolation=_WESTERN).best()
    if western is not None and western.chaos <= _WESTERN_MAX_CHAOS:
        return str(western)
    detected = charset_normalizer.from_bytes(data).best()
    if detected is None:
        raise refusal
    return str(detected)
