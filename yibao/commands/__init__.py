"""Registers each area's commands on the app; an area whose module is absent is skipped."""

from __future__ import annotations

import importlib

import typer

# What each command talks to (yibao.failures: BROKER, MLFLOW, DATABASE), by command
# path. tests/integration/test_friendly_failures.py runs every command against each
# of its services stopped, and fails on a command missing here.
SERVICES_USED: dict[str, frozenset[str]] = {
    "settle": frozenset(),
    "clearing": frozenset(),
    "dip cases": frozenset(),
    "dip year": frozenset(),
    "dip month": frozenset(),
    "dip build": frozenset(),
    "rules check": frozenset(),
    "rules list": frozenset(),
    "simulate": frozenset(),
    "demo": frozenset(),  # starts its own broker, MLflow store and database
    "broker": frozenset(),  # starts the broker
    # Without MLflow a worker scores with the red flags alone and asks again later.
    "stream": frozenset({"broker"}),
    "replay": frozenset({"broker"}),
    "topic-dump": frozenset({"broker"}),
    "dlq export": frozenset({"broker"}),
    "dlq resend": frozenset({"broker"}),
    "dlq mark-handled": frozenset({"broker"}),
    "status": frozenset({"broker"}),  # a down database is reported as "no follower offsets"
    "train": frozenset({"mlflow"}),
    "evaluate": frozenset({"mlflow"}),
    "score": frozenset({"mlflow"}),
    "models list": frozenset({"mlflow"}),
    "models promote": frozenset({"mlflow"}),
    "models drift": frozenset({"mlflow"}),
    "review serve": frozenset({"database"}),
    "review load": frozenset({"database"}),
    "review follow": frozenset({"broker", "database"}),
    "review reset-offsets": frozenset({"broker", "database"}),
    "users add": frozenset({"database"}),
    "users disable": frozenset({"database"}),
    "users unlock": frozenset({"database"}),
    "users list": frozenset({"database"}),
    "labels export": frozenset({"database"}),
}

# Each module defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = (
    "settle",
    "dip",
    "rules",
    "simulate",
    "detect",
    "stream",
    "status",
    "review",
    "demo",
)


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"yibao.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"yibao.commands.{name}":
                continue
            raise
        module.register(app)
