# yibao: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-unit lint bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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
	$(BIN)/mypy settlement detection

bench: $(STAMP)
	$(BIN)/python benchmarks/settle.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
