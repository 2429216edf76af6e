"""CLI adapter for the rule catalogue: ``yibao rules check`` and ``yibao rules list``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from detection.errors import RuleBookError
from detection.rule_batch import check_lines
from detection.rule_engine import RuleEngine
from detection.rule_state import RuleState
from detection.rulebook_loader import load_rule_dir
from settlement.errors import PolicyError
from settlement.jsonio import encode_record, encode_record_bytes
from settlement.policy_loader import load_policy_dir
from yibao.commands.settle import _fail, _open_input, _open_output
from yibao.settings import get_settings

rules_app = typer.Typer(help="The audit rule catalogue (knowledge and rule tables).")

_RULES_OPTION = typer.Option(
    "--rules", help="Rule catalogue directory (default: the bundled illustrative one)."
)


@rules_app.command("check")
def check_cmd(
    claims: Annotated[
        str, typer.Argument(metavar="CLAIMS.jsonl|-", help="Claims, one JSON a line.")
    ],
    rules: Annotated[Path | None, _RULES_OPTION] = None,
    output: Annotated[
        str, typer.Option("-o", "--output", help="One answer a claim (- = stdout).")
    ] = "-",
    policies: Annotated[
        Path | None, typer.Option("--policies", help="Policy directory (default: bundled).")
    ] = None,
) -> None:
    """Check claims against the rules: one JSON line a claim with its hits, in input order."""
    settings = get_settings()
    try:
        engine = RuleEngine(load_rule_dir(rules))
    except RuleBookError as exc:
        raise _fail(f"broken rule catalogue: {exc}") from None
    try:
        book = load_policy_dir(policies if policies is not None else settings.policies_dir)
    except PolicyError as exc:
        raise _fail(f"broken policy: {exc}") from None
    counts: Counter[str] = Counter()
    with _open_input(claims) as source, _open_output(output) as sink:
        lines = check_lines(engine, RuleState(), book, source, settings.max_claim_bytes)
        for record in lines:
            counts[record["status"]] += 1
            counts["hits"] += len(record.get("hits", ()))
            # orjson's bytes equal encode_record's text, at a fifth of the cost (as settle)
            sink.write(encode_record_bytes(record).decode())
            sink.write("\n")
    typer.echo(
        f"checked {counts['checked']} claims ({counts['hits']} hits),"
        f" {counts['rejected']} rejected",
        err=True,
    )


@rules_app.command("list")
def list_cmd(rules: Annotated[Path | None, _RULES_OPTION] = None) -> None:
    """List the catalogue's rules and red-flag codes, one JSON line each."""
    try:
        book = load_rule_dir(rules)
    except RuleBookError as exc:
        raise _fail(f"broken rule catalogue: {exc}") from None
    for rule in book.rules.values():
        typer.echo(encode_record(rule.as_dict()))
    for flag in book.red_flags.values():
        typer.echo(
            encode_record(
                {
                    "rule_code": flag.rule_code,
                    "name": flag.name,
                    "logic": "red_flag",
                    "flag": flag.flag,
                    "result": flag.result,
                    "source": flag.source,
                }
            )
        )


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
