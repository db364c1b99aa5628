"""A real service for tests that need one over HTTP: uvicorn on 127.0.0.1, stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(process: subprocess.Popen[bytes], kill: bool = False) -> None:
    """End a child process if it still runs (SIGKILL when `kill`, else SIGTERM) and reap it."""
    if process.poll() is None:
        process.kill() if kill else process.terminate()
        process.wait(timeout=10)


@dataclass
class RunningService:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop(self.process)


@contextmanager
def running_service(
    tmp: Path, articles: Sequence[Path], workers: int = 1, **env: str
) -> Iterator[RunningService]:
    """Ingest `articles` into a Chroma under `tmp` (or CHROMA_HOST's server when `env` names
    one), serve them with uvicorn, wait for /health, and stop the service at exit."""
    environment = {
        **os.environ,
        "CHROMA_PATH": str(tmp / "chroma"),
        "LEXICAL_PATH": str(tmp / "lexical"),  # this "host"'s lexical index
    }
    environment.pop("CHROMA_HOST", None)
    environment["LLM_BACKEND"] = "extractive"  # unless `env` names a model
    environment.update(env)
    subprocess.run(
        [sys.executable, "-m", "ingest", "--quiet", *map(str, articles)],
        env=environment,
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "service.log").open("wb"),  # the service's JSON logs, for a failing test
    )
    service = RunningService(f"http://127.0.0.1:{port}", process)
    try:
        wait_for(f"{service.url}/health", 60, "the service", process)
        yield service
    finally:
        service.stop()


def wait_for(
    url: str, seconds: float, what: str, alive: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll `url` until it answers 200; fail with `what` if it does not in time or `alive` dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"{what} exited during start-up")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {seconds:.0f} s")


@dataclass
class ChromaServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def env(self) -> dict[str, str]:
        """The settings that point the ingester and the service at this server."""
        return {"CHROMA_HOST": self.host, "CHROMA_PORT": str(self.port)}

    def stop(self) -> None:
        """Kill the server at once, as a crash would."""
        stop(self.process, kill=True)


@contextmanager
def chroma_server(path: Path, port: int | None = None) -> Iterator[ChromaServer]:
    """`chroma run` on 127.0.0.1 with its data under `path`; killed at exit."""
    port = port or free_port()
    chroma = str(Path(sys.executable).with_name("chroma"))
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = ChromaServer("127.0.0.1", port, process)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", 30, "chroma run", process)
        yield server
    finally:
        server.stop()
