# yibao: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Sources that setup.py may compile with mypyc: editing one reinstalls, so
# `make test` never runs a stale extension.
COMPILED_SOURCES := $(filter-out settlement/_compiled_sources.py,$(wildcard settlement/*.py detection/*.py dip/*.py))

.PHONY: demo test test-unit lint bench install clean

$(STAMP): pyproject.toml setup.py $(COMPILED_SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m settlement.compiled
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/yibao demo

test: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/data tests/model -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy settlement detection dip
	$(BIN)/mypy models streams review yibao simulator testkit

bench: $(STAMP)
	$(BIN)/python benchmarks/settle.py

# Everything `make demo` and the tests write: var/ holds the demo's broker data, MLflow
# store and artifacts, review DB, stream worker (Faust) data and logs; mlruns/,
# mlartifacts/ and mlflow.db are where MLflow put things by default before they went
# under var/, and <app id>-data/v1/ where stream workers put Faust's data.
clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis build test-artifacts
	rm -rf mlruns mlartifacts mlflow.db
	for d in *-data; do if [ -d "$$d/v1" ]; then rm -rf "$$d"; fi; done
	rm -f settlement/*.so detection/*.so dip/*.so settlement__mypyc.*.so settlement/_compiled_sources.py
