# Everything a fresh clone needs goes through these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install test lint typecheck pytest run demo bench bench-smoke clean

help:
	@echo "make demo   - try the bot in a terminal chat, no Telegram token needed"
	@echo "make run    - upgrade the database, import seeds/ and start the bot"
	@echo "make test   - ruff, mypy and the whole pytest suite"
	@echo "make bench  - benchmarks at full size (100k subscribers)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

run: $(STAMP)
	$(BIN)/newsbot run --import seeds/

demo: $(STAMP)
	$(BIN)/newsbot-demo

bench: $(STAMP)
	$(BIN)/python -m bench

bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
