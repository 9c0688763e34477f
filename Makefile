# Everything a fresh clone needs goes through these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install test lint typecheck pytest run demo bench bench-smoke bench-scale catalogs clean

help:
	@echo "make demo   - try the bot in a terminal chat, no Telegram token needed"
	@echo "make run    - start the real bot (upgrades the database; starts with no articles)"
	@echo "make test   - ruff, mypy and the whole pytest suite"
	@echo "make bench  - benchmarks at full size (100k subscribers)"
	@echo "make bench-scale - a million subscribers on PostgreSQL, 1, 2 and 4 workers"

# Editable, so `python -m bot` in the tests runs the current source; the warning
# setuptools prints on every editable install says nothing a user needs.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/vulture

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	@if [ -z "$$TEST_DATABASE_URL" ]; then \
		echo "PostgreSQL tests are skipped. $$($(BIN)/python -c 'from tests.auxil.postgres import SKIP_REASON; print(SKIP_REASON)')"; \
	fi
	$(BIN)/pytest

# mypy runs beside pytest, at the lowest priority: it takes the CPU the tests leave idle
# while they wait (without its cache, after a fresh clone, it needs 9 s of one core, which
# at equal priority slowed the tests by as much). Its report follows the tests', and
# either failing fails the target.
test: lint
	@nice -n 19 $(BIN)/mypy > .mypy-report 2>&1 & checking=$$!; \
	$(MAKE) --no-print-directory pytest; tests=$$?; \
	wait $$checking; types=$$?; \
	echo "$(BIN)/mypy"; cat .mypy-report; rm -f .mypy-report; \
	[ $$tests -eq 0 ] && [ $$types -eq 0 ]

# No seeds: they are invented news, for `make demo` and the tests. A real bot starts
# empty and gets articles from /add, `newsbot import` or its feeds.
run: $(STAMP)
	$(BIN)/newsbot run

demo: $(STAMP)
	$(BIN)/newsbot-demo

# After changing a text: new message ids go into every catalog of bot/locale, untranslated.
catalogs: $(STAMP)
	$(BIN)/python scripts/catalogs.py

bench: $(STAMP)
	$(BIN)/python -m bench

bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke

# A million due subscribers on PostgreSQL, 1, 2 and 4 workers (most of an hour; see
# README, Benchmarks). CI runs it tiny: SCALE_ARGS="--subscribers 300 ...".
SCALE_ARGS ?=
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build bench/results *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
