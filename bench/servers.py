"""Child servers for the benchmark: the service under uvicorn and the peer, on 127.0.0.1 only.

Each is started as a subprocess with its output in a log file, is ready when `GET /health`
answers 200, is measured through /proc (resident memory), and is stopped by its own pid.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

HOST = "127.0.0.1"


_GIVEN: set[int] = set()


def free_port() -> int:
    """A port on the loopback that is free now, and never one this process was given before:
    the system may hand out a released port again, and a server started on a port another one
    already took would be taken for ready by the other's /health."""
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def _status_kb(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB."""
    total = _status_kb(pid, "VmRSS")
    for child in _children(pid):
        total += int(rss_mb(child) * 1024)
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (all its threads) and of its live descendants."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in _children(pid))


def peak_rss_mb(pid: int) -> float:
    """The process's own peak resident memory (VmHWM), in MiB."""
    return _status_kb(pid, "VmHWM") / 1024


@dataclass
class Server:
    """A running child server."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    spawned_at: float = 0.0
    startup_seconds: float = 0.0  # from spawn until /health first answered 200

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; reap it and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def _is_ready(server: Server) -> bool:
    """Whether /health answers 200; an exited process is an error."""
    if server.process.poll() is not None:
        raise RuntimeError(
            f"{server.name} exited during start-up (code {server.process.returncode}); "
            f"see {server.log.name}"
        )
    try:
        return httpx.get(f"{server.url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _spawn(
    name: str, argv: Sequence[str], env: dict[str, str], port: int, log_path: Path
) -> Server:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(list(argv), env=env, stdout=log, stderr=subprocess.STDOUT)
    return Server(name, f"http://{HOST}:{port}", process, log, spawned_at=time.perf_counter())


def wait_all_ready(servers: Sequence[Server], seconds: float = 900) -> None:
    """Wait for servers started together; each one's start-up time runs until it answered.
    If one fails or time runs out, all are stopped."""
    try:
        pending = list(servers)
        deadline = time.monotonic() + seconds
        while pending:
            for server in [s for s in pending if _is_ready(s)]:
                server.startup_seconds = time.perf_counter() - server.spawned_at
                pending.remove(server)
            if pending and time.monotonic() > deadline:
                names = ", ".join(s.name for s in pending)
                raise RuntimeError(f"{names} did not answer /health within {seconds:.0f} s")
            if pending:
                time.sleep(0.1)
    except BaseException:
        for server in servers:
            server.stop()
        raise


@dataclass
class ChromaServer:
    """A `chroma run` child server on the loopback."""

    process: subprocess.Popen[bytes]
    port: int

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_chroma(path: Path, log: Path) -> ChromaServer:
    """`chroma run` over the data folder `path` on a free loopback port, once its heartbeat
    answers. Raises RuntimeError if it has not within 60 s (its output is in `log`)."""
    port = free_port()
    chroma = str(Path(sys.executable).with_name("chroma"))
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", HOST, "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return ChromaServer(process, port)
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"chroma run did not start; see {log}")


def service_env(
    chroma_path: Path, collection: str, llm_backend: str = "extractive", **settings: str
) -> dict[str, str]:
    """The environment of the service: its own Chroma folder, the extractive backend unless
    another is named, and any other `settings` (RETRIEVAL_MODE="store", ...)."""
    env = {k: v for k, v in os.environ.items() if k != "CHROMA_HOST"}
    env |= {"CHROMA_PATH": str(chroma_path), "COLLECTION": collection, **settings}
    env.pop("API_KEY", None)
    env["LLM_BACKEND"] = llm_backend
    env["RATE_LIMIT_PER_MINUTE"] = "0"  # the load comes from one address
    return env


def spawn_service(
    chroma_path: Path,
    collection: str,
    log_path: Path,
    llm_backend: str = "extractive",
    **settings: str,
) -> Server:
    """`uvicorn app.main:app` on a free loopback port, over an already ingested collection,
    with these `settings` in its environment; not yet ready (see `wait_all_ready`)."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST, "--port", str(port)]
    argv += ["--log-level", "warning"]
    env = service_env(chroma_path, collection, llm_backend, **settings)
    return _spawn("service", argv, env, port, log_path)


def spawn_peer(
    chroma_path: Path, paths: Sequence[Path], stats_path: Path, log_path: Path
) -> Server:
    """The plain LlamaIndex peer, which builds its index before it serves; not yet ready."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.peer", "--chroma-path", str(chroma_path)]
    argv += ["--port", str(port), "--stats", str(stats_path), *map(str, paths)]
    return _spawn("peer", argv, service_env(chroma_path, "peer"), port, log_path)
