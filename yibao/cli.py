"""The ``yibao`` command: one Typer app, each area's commands in ``yibao/commands``."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from yibao.commands import register_all
from yibao.failures import FriendlyGroup, set_debug
from yibao.help_text import plain_metavars
from yibao.settings import get_settings


class RootGroup(FriendlyGroup):
    """The ``yibao`` group: one-line failures (FriendlyGroup) and plain help texts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_metavars(self)


app = typer.Typer(
    cls=RootGroup,
    help="yibao: claims settlement and fraud detection for basic medical insurance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"yibao {version('yibao')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks and the libraries' logging on failure."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """yibao: claims settlement and fraud detection for basic medical insurance."""
    set_debug(debug)


register_all(app)


def main() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    set_debug(False)
    app()


if __name__ == "__main__":
    main()
