"""The large French corpus: Debian's `manpages-fr` and `manpages-fr-dev` pages as plain text.

Set-up installs the packages when they are missing (root only), converts each real page (not
the symbolic links nor the `.so` redirects that alias another page) with `man -l` at 80 columns,
strips the overstrike formatting, and caches the `.txt` files under the benchmark's work folder,
so later runs convert nothing.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

MAN_ROOT = Path("/usr/share/man/fr")
PACKAGES = ("manpages-fr", "manpages-fr-dev", "man-db", "groff-base")
_MANIFEST = "manifest.json"
# Overstrike bold ("X\bX") and underline ("_\bX"), and any SGR escape a formatter might add.
_OVERSTRIKE = re.compile(r".\x08")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


class ManPagesUnavailable(RuntimeError):
    """The French man pages are not installed and cannot be installed here."""


@dataclass(frozen=True)
class ManPage:
    """One converted page: its text file, its size, and how many chunks the project's cleaning
    and chunking make of it (at the chunk settings the manifest names)."""

    name: str
    path: str
    chars: int
    chunks: int


def installed() -> bool:
    """Whether both packages are installed (the folder alone exists on any Debian)."""
    for package in PACKAGES[:2]:
        probe = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if "install ok installed" not in probe.stdout:
            return False
    return shutil.which("man") is not None


def install() -> None:
    """`apt-get install` the packages (needs root; waits for another apt to finish)."""
    if installed():
        return
    if os.geteuid() != 0:
        raise ManPagesUnavailable(
            "manpages-fr and manpages-fr-dev are not installed and this user is not root: "
            "sudo apt-get install -y " + " ".join(PACKAGES)
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    subprocess.run(["apt-get", *lock, "update", "-qq"], env=env, check=True)
    subprocess.run(
        ["apt-get", *lock, "install", "-y", "-qq", *PACKAGES],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def is_alias(path: Path) -> bool:
    """A symbolic link or a `.so` redirect: the name of another page, not a page."""
    if path.is_symlink():
        return True
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle.read(4096).splitlines()]
    meaningful = [line for line in lines if line and not line.startswith(('.\\"', "'\\\""))]
    return len(meaningful) == 1 and meaningful[0].startswith(".so ")


def source_pages(root: Path = MAN_ROOT) -> list[Path]:
    """The real pages under `root`, sorted, aliases left out."""
    pages = [p for p in root.glob("man*/*") if p.is_file() or p.is_symlink()]
    return sorted(p for p in pages if not is_alias(p))


def text_name(page: Path) -> str:
    """A file name for a page's text: `man1_chage-1.txt` (section folder, page name)."""
    stem = page.name.removesuffix(".gz")
    slug = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")
    return f"{page.parent.name}_{slug}.txt"


def plain(rendered: str) -> str:
    """Rendered man output without overstrike and escape sequences, trailing blanks trimmed."""
    text = _SGR.sub("", _OVERSTRIKE.sub("", rendered))
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n"


def render(page: Path, width: int = 80) -> str:
    """One page as plain text through `man -l` (its preprocessors and encoding handled)."""
    env = {
        **os.environ,
        "MANWIDTH": str(width),
        "MANPAGER": "cat",
        "PAGER": "cat",
        "MAN_DISABLE_SECCOMP": "1",
        "LC_ALL": "C.UTF-8",
    }
    result = subprocess.run(
        ["man", "-l", "-E", "UTF-8", str(page)], capture_output=True, env=env, timeout=60
    )
    return plain(result.stdout.decode("utf-8", errors="replace"))


def chunk_count(text: str, chunk_size: int, chunk_overlap: int) -> int:
    """How many chunks ingest makes of a text: the project's cleaning, then the splitter."""
    from llama_index.core.node_parser import SentenceSplitter

    from ingest.cleaning import clean

    cleaned = clean(text).text
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    return len(splitter.split_text(cleaned)) if cleaned.strip() else 0


def convert(
    cache: Path, chunk_size: int, chunk_overlap: int, root: Path = MAN_ROOT, workers: int = 2
) -> list[ManPage]:
    """Every real page under `root` as text in `cache`, with its chunk count; pages converted
    before are read back, and the manifest is reused while the chunk settings are the same."""
    manifest = cache / _MANIFEST
    shape = {"version": 2, "chunk_size": chunk_size, "chunk_overlap": chunk_overlap}
    if manifest.exists():
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        if isinstance(saved, dict) and all(saved.get(k) == v for k, v in shape.items()):
            # The files are where the cache is now, whatever it was called when they were made.
            return [
                ManPage(**{**row, "path": str(cache / Path(row["path"]).name)})
                for row in saved["pages"]
            ]
    sources = source_pages(root)
    if not sources:
        raise ManPagesUnavailable(f"no man pages under {root}")
    cache.mkdir(parents=True, exist_ok=True)

    def text_of(page: Path) -> tuple[Path, str]:
        target = cache / text_name(page)
        if target.exists():
            return target, target.read_text(encoding="utf-8")
        text = render(page)
        target.write_text(text, encoding="utf-8")
        return target, text

    with ThreadPoolExecutor(max_workers=workers) as pool:
        rendered = list(pool.map(text_of, sources))
    pages = [
        ManPage(target.stem, str(target), len(text), chunk_count(text, chunk_size, chunk_overlap))
        for target, text in rendered
        if len(text.strip()) >= 40
    ]
    pages = [p for p in _distinct(pages) if p.chunks > 0]
    manifest.write_text(json.dumps({**shape, "pages": [asdict(p) for p in pages]}), "utf-8")
    return pages


def _distinct(pages: Iterable[ManPage]) -> list[ManPage]:
    """One page per file name (a page installed twice under one name is kept once)."""
    return list({p.name: p for p in pages}.values())


def select(pages: list[ManPage], chunks: int, seed: int = 7) -> list[ManPage]:
    """A prefix of a fixed shuffle of the pages, as long as it takes to make `chunks` chunks.

    Prefixes of one order nest: the pages of a smaller corpus are in every larger one.
    """
    order = sorted(pages, key=lambda p: p.name)
    random.Random(seed).shuffle(order)
    chosen: list[ManPage] = []
    total = 0
    for page in order:
        if total >= chunks:
            break
        chosen.append(page)
        total += page.chunks
    return chosen
