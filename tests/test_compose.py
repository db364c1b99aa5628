"""The deployment files, checked without a Docker engine.

`docker-compose config` (Debian's docker-compose 1.29) validates and resolves docker-compose.yml
without an engine; its output is what these tests read. The healthcheck probes are run for real:
the api's against the service's own /health, the chroma one against a real `chroma run` (the
same Rust server as the chromadb/chroma image). Without docker-compose the compose tests are
skipped, unless REQUIRE_COMPOSE=1 (as CI sets it), where they fail instead.
"""

from __future__ import annotations

import ast
import http.server
import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from config import PROJECT_ROOT, Settings
from tests.service import chroma_server, free_port

COMPOSE = shutil.which("docker-compose")
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
HEALTH_URL = re.compile(r"http://127\.0\.0\.1:8000(/[\w/-]*)")
# Read by the container's command or by uvicorn, not by Settings.
NOT_SETTINGS = {"WORKERS", "FORWARDED_ALLOW_IPS"}
# Settings the compose file must pass on (other ones keep their defaults).
REQUIRED = {"API_KEY", "RATE_LIMIT_PER_MINUTE", "LOG_FORMAT", "LOG_LEVEL", "LLM_BACKEND"}


def compose_config(tmp: Path, **env: str) -> dict[str, Any]:
    """`docker-compose config` on the real file, with only `env` set in the environment (and an
    empty env file, so a developer's .env does not count): the defaults are what is tested."""
    if not COMPOSE:
        if os.environ.get("REQUIRE_COMPOSE") == "1":
            pytest.fail("REQUIRE_COMPOSE=1 but no docker-compose on PATH")
        pytest.skip("no docker-compose on PATH (apt-get install docker-compose)")
    empty = tmp / "empty.env"
    empty.write_text("")
    compose_file = str(PROJECT_ROOT / "docker-compose.yml")
    result = subprocess.run(
        [COMPOSE, "--env-file", str(empty), "-f", compose_file, "--profile", "ollama", "config"],
        env={"PATH": os.environ["PATH"], **env},
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compose_config(tmp_path_factory.mktemp("compose"))


def probe(service: dict[str, Any]) -> list[str]:
    """A healthcheck's command as the container runs it (compose writes `$` as `$$`)."""
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD", "exec form: the images' shells are not relied on"
    return [part.replace("$$", "$") for part in test[1:]]


def dockerfile_instruction(name: str) -> str:
    """The arguments of the Dockerfile's one `name` instruction, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(.+)$", joined, re.MULTILINE)
    assert len(found) == 1, f"one {name} expected"
    return str(found[0])


# --- docker-compose.yml ---------------------------------------------------------------------


def test_api_reaches_chroma_by_service_name_once_it_is_healthy(config: dict[str, Any]) -> None:
    api = config["services"]["api"]
    assert api["environment"]["CHROMA_HOST"] == "chroma" and "chroma" in config["services"]
    # The image's server listens on 8000 and the chroma service does not change it.
    assert (
        api["environment"]["CHROMA_PORT"] == "8000"
        and "command" not in config["services"]["chroma"]
    )
    assert api["depends_on"]["chroma"]["condition"] == "service_healthy"
    assert api["build"]["context"] == str(PROJECT_ROOT)
    assert [p.split(":")[-1] for p in api["ports"]] == ["8000/tcp"]


def test_chroma_keeps_its_data_in_a_named_volume_at_the_images_data_path(
    config: dict[str, Any],
) -> None:
    chroma = config["services"]["chroma"]
    # /data: persist_path of the /config.yaml that chromadb/chroma 1.x images run with.
    (volume,) = [v for v in chroma["volumes"] if v.split(":")[1] == "/data"]
    assert volume.split(":")[0] in config["volumes"], "a named volume, declared at top level"
    assert "ports" not in chroma, "Chroma has no auth here: only the api may reach it"


def test_the_chroma_image_matches_the_client_library(config: dict[str, Any]) -> None:
    image, tag = config["services"]["chroma"]["image"].split(":")
    assert image == "chromadb/chroma"
    client = importlib.metadata.version("chromadb")
    assert tag.split(".")[:2] == client.split(".")[:2], f"server {tag}, client {client}"


def test_ollama_runs_only_under_its_profile(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["ollama"]["profiles"] == ["ollama"]
    assert [name for name, s in services.items() if s.get("profiles")] == ["ollama"]
    # Nothing may depend on it: with the profile off, the service would not exist.
    assert all("ollama" not in s.get("depends_on", {}) for s in services.values())
    (volume,) = services["ollama"]["volumes"]
    assert volume.split(":")[0] in config["volumes"]
    assert config["services"]["api"]["environment"]["LLM_BASE_URL"] == "http://ollama:11434/v1"


def test_every_variable_the_api_gets_is_a_setting(config: dict[str, Any]) -> None:
    names = set(config["services"]["api"]["environment"])
    fields = {name.upper() for name in Settings.model_fields}
    assert names - NOT_SETTINGS <= fields, f"not settings: {names - NOT_SETTINGS - fields}"
    assert names >= REQUIRED, f"missing: {REQUIRED - names}"


def test_the_defaults_are_valid_settings(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The container's environment, read as the service reads it."""
    for name in {n.upper() for n in Settings.model_fields}:
        monkeypatch.delenv(name, raising=False)
    for name, value in config["services"]["api"]["environment"].items():
        monkeypatch.setenv(name, str(value))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.chroma_host == "chroma" and settings.llm_backend == "extractive"
    assert not settings.api_key and settings.rate_limit_per_minute == 0, "both off by default"


def test_variables_override_the_defaults(tmp_path: Path) -> None:
    values = {"WORKERS": "3", "LLM_BACKEND": "openai", "LLM_MODEL": "mistral", "API_PORT": "9000"}
    api = compose_config(tmp_path, **values)["services"]["api"]
    assert {k: api["environment"][k] for k in ("WORKERS", "LLM_BACKEND", "LLM_MODEL")} == {
        "WORKERS": "3",
        "LLM_BACKEND": "openai",
        "LLM_MODEL": "mistral",
    }
    assert api["ports"] == ["127.0.0.1:9000:8000/tcp"]


def test_the_api_healthcheck_is_the_dockerfiles_and_hits_a_route_that_answers(
    config: dict[str, Any], client: TestClient
) -> None:
    command = probe(config["services"]["api"])
    assert command == ast.literal_eval(dockerfile_instruction("HEALTHCHECK").split(" CMD ")[1])
    (path,) = HEALTH_URL.findall(" ".join(command))
    assert client.get(path).status_code == 200


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (the handler's API)
        self.send_response(type(self).status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_Health]]]:
    handler = type("Handler", (_Health,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def test_the_api_probe_fails_on_503_and_on_a_refused_connection(
    config: dict[str, Any], health_server: tuple[int, type[_Health]]
) -> None:
    port, handler = health_server
    program, *args = probe(config["services"]["api"])
    assert program == "python"
    command = [sys.executable, *(a.replace(":8000/", f":{port}/") for a in args)]
    assert subprocess.run(command, capture_output=True).returncode == 0
    handler.status = 503
    assert subprocess.run(command, capture_output=True).returncode != 0
    refused = [sys.executable, *(a.replace(":8000/", f":{free_port()}/") for a in args)]
    assert subprocess.run(refused, capture_output=True).returncode != 0


def test_the_chroma_probe_passes_on_a_real_chroma_server_and_fails_without_it(
    config: dict[str, Any], tmp_path: Path
) -> None:
    command = probe(config["services"]["chroma"])
    assert command[:2] == ["bash", "-c"] and "/api/v2/heartbeat" in command[2]
    with chroma_server(tmp_path / "chroma") as chroma:
        local = [*command[:2], command[2].replace("/8000 ", f"/{chroma.port} ")]
        assert local != command
        assert subprocess.run(local, capture_output=True, timeout=10).returncode == 0
        chroma.stop()
        assert subprocess.run(local, capture_output=True, timeout=10).returncode != 0


# --- Dockerfile -----------------------------------------------------------------------------


def test_the_dockerfile_runs_modules_that_exist() -> None:
    cmd = ast.literal_eval(dockerfile_instruction("CMD"))
    assert cmd[:2] == ["sh", "-c"]
    steps = [shlex.split(step) for step in cmd[2].split("&&")]
    # Metrics files of a previous run would be summed with this run's: the folder starts empty.
    metrics = "$PROMETHEUS_MULTIPROC_DIR"
    assert steps[:2] == [["rm", "-rf", metrics], ["mkdir", "-p", metrics]]
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/metrics" in DOCKERFILE
    assert steps[2][:3] == ["python", "-m", "ingest"]
    assert importlib.util.find_spec("ingest.__main__") is not None
    assert steps[3][:2] == ["exec", "uvicorn"]
    module, attribute = steps[3][2].split(":")
    spec = importlib.util.find_spec(module)
    assert spec and spec.origin and (module, attribute) == ("app.main", "app")
    tree = ast.parse(Path(spec.origin).read_text())
    assert any(
        isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == attribute for t in node.targets)
        for node in tree.body
    )
    uvicorn = " ".join(steps[3])
    assert "--host 0.0.0.0 --port 8000 --workers $WORKERS" in uvicorn
    assert re.search(r"^EXPOSE 8000$", DOCKERFILE, re.MULTILINE)


def test_the_dockerfile_copies_what_exists_and_runs_as_another_user_than_root() -> None:
    assert dockerfile_instruction("FROM") == "python:3.11-slim"
    user = dockerfile_instruction("USER")
    assert user not in {"root", "0"}
    sources = [line.split()[1] for line in re.findall(r"^COPY .+$", DOCKERFILE, re.MULTILINE)]
    assert {"data/articles", "prompts", "app"} <= set(sources)
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source
        assert not any(Path(source).is_relative_to(i) for i in ignored), f"{source} ignored"
    for secret_or_bulk in (".env", ".venv", "data/chroma", ".git"):
        assert secret_or_bulk in ignored
