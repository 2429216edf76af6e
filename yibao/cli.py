"""The ``yibao`` command: one Typer app, each area's commands in ``yibao/commands``."""

from __future__ import annotations

import logging

import typer

from yibao.commands import register_all
from yibao.settings import get_settings

app = typer.Typer(
    help="yibao: claims settlement and fraud detection for basic medical insurance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
register_all(app)


def main() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    app()


if __name__ == "__main__":
    main()
