"""Plain ``--help`` for every command: a value's kind in capitals (TEXT, PATH), no type tags.

Typer labels each parameter with its Python type in angle brackets (``<bool>``,
``<str>``, also on ``--help`` itself) and offers no setting to change that; the
root group relabels every parameter once, when the app is built.
"""

from __future__ import annotations

from typing import Any

# Typer's type labels, without their brackets, and what the help shows instead.
_KINDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "int range": "INTEGER",
    "float range": "NUMBER",
    "path": "PATH",
    "file": "FILE",
    "directory": "DIRECTORY",
    "list[str]": "TEXT",
}


def plain_label(param: Any) -> str:
    """What the help shows for a parameter's value: nothing for a flag, the values of a
    choice (``earliest|latest``), a metavar the command set, else the kind in capitals.
    """
    if getattr(param, "is_flag", False):
        return ""
    if param.param_type_name == "option" and param.metavar is not None:
        return str(param.metavar)
    label = str(type(param).display_type(param, None)).removeprefix("<").removesuffix(">")
    return _KINDS.get(label, label if "|" in label else label.upper())


def _relabel(param: Any) -> None:
    label = plain_label(param)
    # Typer reads the label from this method; an instance attribute overrides it.
    param.display_type_rich = lambda ctx: label


def plain_metavars(command: Any) -> None:
    """Relabel the parameters of ``command``, its ``--help`` and its subcommands'."""
    for param in getattr(command, "params", ()):
        _relabel(param)
    original = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            _relabel(option)
        return option

    command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        plain_metavars(sub)
