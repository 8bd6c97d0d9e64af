# `make chat` and `make test` are the two commands of the README; both create .venv if missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup chat index test soak eval calibrate bench clean

PDFJS_VERSION := 4.10.38
PDFJS := $(VENV)/pdfjs/node_modules/pdfjs-dist/build/pdf.min.mjs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# pdf.js for the source viewer, from the npm registry into .venv/pdfjs (nothing from a CDN at run
# time). Without npm the chat still works; citations then open PDFs in the browser's own viewer.
$(PDFJS):
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/pdfjs pdfjs-dist@$(PDFJS_VERSION); \
	else echo "npm not found: the source viewer will open PDFs without pdf.js (no highlight)"; fi

setup: $(STAMP) $(PDFJS)

chat: setup          ## build the index on first run, then serve the chat on 127.0.0.1
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/hpsr chat

index: setup         ## (re)build the index from corpus/ (incremental)
	$(BIN)/hpsr ingest

test: setup          ## the whole test suite (browser tests need /usr/bin/chromium)
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python -m pytest -q

soak: setup          ## the reliability soak: 24 kills, 60 s of 16 users, 1500 examples (~3 min)
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python -m pytest -q -m soak

SCIFACT ?= ../shared/eval/scifact

eval: index          ## answer and retrieval quality on eval/dev, and BEIR SciFact if present
	$(BIN)/hpsr eval --answers
	$(BIN)/hpsr eval
	@if [ -d "$(SCIFACT)" ]; then $(BIN)/hpsr eval --beir "$(SCIFACT)"; \
	else echo "BEIR SciFact skipped: no folder at $(SCIFACT) (set SCIFACT=DIR to a BEIR scifact folder)"; fi

calibrate: index     ## re-make the near misses from eval/dev, then re-fit the abstention weights (chatbot/data/abstain.json)
	$(BIN)/python eval/near_misses.py
	$(BIN)/hpsr calibrate --write

bench: setup         ## side-by-side performance benchmark against the LangChain tutorial pipeline
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/bench.py

clean:
	rm -rf .hpsr tests/artifacts .pytest_cache
