# The API: ingests the shipped sample (data/articles) at start, then serves it with uvicorn.
# docker-compose.yml runs it against a Chroma server; alone (`docker run`), it uses embedded
# Chroma under /app/data/chroma, where WORKERS must stay 1 (embedded Chroma is one process).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Extras from pyproject.toml, e.g. --build-arg EXTRAS=e5. The openai client is always installed
# (it is small) so that LLM_BACKEND=openai (Ollama, vLLM, OpenAI) needs no rebuild; the `llm`
# extra would also compile llama-cpp-python, which needs a compiler this slim image lacks.
ARG EXTRAS=""

# Dependencies first, in a layer of their own that a code change does not invalidate: the
# package folders are empty here, so this installs the dependencies and an empty project.
COPY pyproject.toml ./
RUN mkdir app config ingest vectorstore prompts \
    && pip install ".${EXTRAS:+[$EXTRAS]}" "openai>=1.40"

COPY app app
COPY config config
COPY ingest ingest
COPY vectorstore vectorstore
COPY prompts prompts
RUN pip install --no-deps --force-reinstall .

COPY data/articles data/articles

# Explicit paths: the installed `config` package would otherwise place them under site-packages.
# PROMETHEUS_MULTIPROC_DIR: /metrics sums the workers' counts (emptied at each start, below).
# The bundled reader (LLM_BACKEND=local) needs llama-cpp-python, which this slim image cannot
# compile: the image quotes the articles, or uses a model server with LLM_BACKEND=openai.
ENV DATA_DIR=/app/data/articles \
    LLM_BACKEND=extractive \
    CHROMA_PATH=/app/data/chroma \
    LEXICAL_PATH=/app/data/lexical \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics \
    WORKERS=1

# data/lexical: the store-backed mode's lexical index, a volume in docker-compose.yml.
RUN useradd --create-home --uid 10001 app && mkdir -p /app/data/lexical \
    && chown -R app:app /app/data
USER app

EXPOSE 8000

# The image has no curl; python's urlopen raises (exit 1) on a refused connection or a non-2xx,
# so a 503 from /health (store unreachable) marks the container unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# Ingesting the same files again adds nothing, so every start may do it. `exec` makes uvicorn
# PID 1, which gets the SIGTERM of `docker stop`.
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && python -m ingest --quiet && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --workers \"$WORKERS\" --no-access-log"]
