# yibao: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Sources that setup.py may compile with mypyc: editing one reinstalls, so
# `make test` never runs a stale extension.
COMPILED_SOURCES := $(filter-out settlement/_compiled_sources.py,$(wildcard settlement/*.py detection/*.py dip/*.py))

.PHONY: demo test test-unit lint bench install lock clean

# The venv holds exactly requirements/dev.lock (docs/dependencies.md): every package at
# its locked version, checked against the lock's hashes, and nothing else (a package the
# lock no longer lists is removed); then yibao itself, built without isolation from the
# locked setuptools, mypy and orjson. pip resolves nothing here: a new dependency in
# pyproject.toml needs `make lock` first.
$(STAMP): requirements/dev.lock pyproject.toml setup.py $(COMPILED_SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.lock
	$(BIN)/python -m testkit.lockfile --remove-unlocked requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m settlement.compiled
	touch $(STAMP)

install: $(STAMP)

# Refresh the lock files from pyproject.toml and requirements/*.in with uv, in a venv of
# its own (make install never needs uv). Locked versions are kept unless the ranges no
# longer allow them: `make lock LOCK_ARGS=--upgrade` takes the newest allowed releases,
# `make lock LOCK_ARGS='--upgrade-package numpy'` one package's.
LOCK_VENV := build/lock-venv
UV_COMPILE = $(LOCK_VENV)/bin/uv pip compile --quiet --generate-hashes \
	--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command 'make lock' $(LOCK_ARGS)
lock:
	test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/uv.lock
	$(UV_COMPILE) requirements/uv.in -o requirements/uv.lock
	$(UV_COMPILE) pyproject.toml requirements/dev.in --extra dev -o requirements/dev.lock
	$(UV_COMPILE) requirements/build.in -c requirements/dev.lock -o requirements/build.lock
	$(UV_COMPILE) pyproject.toml requirements/runtime.in --extra all \
	    -c requirements/dev.lock -o requirements/runtime.lock

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
