# `make chat` and `make test` are the two commands of the README; both create .venv if missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup chat index test soak eval bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

chat: setup          ## build the index on first run, then serve the chat on 127.0.0.1
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/hpsr chat

index: setup         ## (re)build the index from corpus/ (incremental)
	$(BIN)/hpsr ingest

test: setup          ## the whole test suite (browser tests need /usr/bin/chromium)
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python -m pytest -q

soak: setup          ## the reliability soak: 24 kills, 60 s of 16 users, 1500 examples (~3 min)
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python -m pytest -q -m soak

eval: index          ## retrieval quality table (dev sets and BEIR SciFact)
	$(BIN)/hpsr eval
	$(BIN)/hpsr eval --beir ../shared/eval/scifact

bench: setup         ## side-by-side performance benchmark against the LangChain tutorial pipeline
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/bench.py

clean:
	rm -rf .hpsr tests/artifacts .pytest_cache
