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
    """One converted page: its text file, its size and an estimate of its chunk count."""

    name: str
    path: str
    chars: int
    tokens: int


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


def token_count(text: str) -> int:
    """Tokens of llama-index's default tokenizer, the unit CHUNK_SIZE counts in."""
    from llama_index.core.utils import get_tokenizer

    return len(get_tokenizer()(text))


def convert(cache: Path, root: Path = MAN_ROOT, workers: int = 2) -> list[ManPage]:
    """Convert every real page under `root` into `cache` once; later calls read the manifest."""
    manifest = cache / _MANIFEST
    if manifest.exists():
        return [ManPage(**row) for row in json.loads(manifest.read_text(encoding="utf-8"))]
    sources = source_pages(root)
    if not sources:
        raise ManPagesUnavailable(f"no man pages under {root}")
    cache.mkdir(parents=True, exist_ok=True)

    def one(page: Path) -> ManPage | None:
        text = render(page)
        if len(text.strip()) < 40:
            return None
        target = cache / text_name(page)
        target.write_text(text, encoding="utf-8")
        return ManPage(target.stem, str(target), len(text), token_count(text))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pages = [p for p in pool.map(one, sources) if p is not None]
    pages = _distinct(pages)
    manifest.write_text(json.dumps([asdict(p) for p in pages]), encoding="utf-8")
    return pages


def _distinct(pages: Iterable[ManPage]) -> list[ManPage]:
    """One page per file name (a page installed twice under one name is kept once)."""
    return list({p.name: p for p in pages}.values())


def estimated_chunks(tokens: int, chunk_size: int, overlap: int) -> float:
    """About how many chunks SentenceSplitter cuts `tokens` into."""
    return max(1.0, (tokens - overlap) / max(1, chunk_size - overlap))


def select(
    pages: list[ManPage], chunks: float, chunk_size: int, overlap: int, seed: int = 7
) -> list[ManPage]:
    """A prefix of a fixed shuffle of the pages whose estimated chunks reach `chunks`.

    Prefixes of one order nest: the pages of a smaller corpus are in every larger one.
    """
    import random

    order = sorted(pages, key=lambda p: p.name)
    random.Random(seed).shuffle(order)
    chosen: list[ManPage] = []
    total = 0.0
    for page in order:
        if total >= chunks:
            break
        chosen.append(page)
        total += estimated_chunks(page.tokens, chunk_size, overlap)
    return chosen
