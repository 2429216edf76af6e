"""Every command's ``--help`` reads as plain text: no type tags, no raw reStructuredText."""

from __future__ import annotations

import re
from importlib.metadata import version
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from yibao.cli import app

# Typer's labels of a parameter's Python type, e.g. <bool>, <str>, <int range>, <path>.
TYPE_TAG = re.compile(r"<(bool|str|int|float|path|file|directory|text|list\[\w+\])( range)?>")


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The app and every group and command under it (typer's click: groups have commands)."""
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += command_paths(sub, (*path, name))
    return found


PATHS = command_paths(typer.main.get_command(app))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "yibao")
def test_help_has_no_leftovers(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "``" not in text, f"raw double backticks in `yibao {' '.join(path)} --help`:\n{text}"
    tags = TYPE_TAG.findall(text)
    assert not tags, f"type tags {tags} in `yibao {' '.join(path)} --help`:\n{text}"


def test_the_checks_catch_what_they_look_for() -> None:
    assert TYPE_TAG.search("--flag   <bool>  A flag.")
    assert TYPE_TAG.search("--n   <int range>  N.")
    assert not TYPE_TAG.search("Model URI; default models:/<name>@champion.")


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"yibao {version('yibao')}"
