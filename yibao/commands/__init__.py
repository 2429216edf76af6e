"""Registers each area's commands on the app; an area whose module is absent is skipped."""

from __future__ import annotations

import importlib

import typer

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
