# The two commands of the README. Each bootstraps what it needs (tools/bootstrap.sh is idempotent).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
ENV := tools/env.sh

.PHONY: help setup demo test lint format

help:
	@echo "make demo   run the demo on the embedded default (sets everything up on first use)"
	@echo "make test   lint + the whole test suite (sets everything up on first use)"

setup:
	@bash tools/bootstrap.sh

demo: setup
	@source $(ENV) && mm-tracker-demo

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

test: lint
	@source $(ENV) && python -m pytest tests
