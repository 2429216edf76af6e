"""docker-compose.yml agrees with the real CLI and settings (no Docker engine runs here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import typer.main
import yaml

from yibao.cli import app
from yibao.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
# Variables the compose file passes that are not settings: the databases' own.
NOT_SETTINGS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS"}


def settings_env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        alias = field.validation_alias
        if alias is not None:
            names.update(str(choice).upper() for choice in getattr(alias, "choices", [alias]))
    return names


def app_services() -> dict[str, dict]:
    return {name: svc for name, svc in SERVICES.items() if svc.get("image", "").startswith("yibao")}


def test_the_stack_has_every_part_the_operator_needs() -> None:
    assert {
        "kafka",
        "topics",
        "mlflow",
        "mlflow-db",
        "review-db",
        "worker",
        "review",
        "prometheus",
    } <= set(SERVICES)
    assert SERVICES["kafka"]["image"].startswith("apache/kafka")
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert "ports" not in SERVICES["worker"], "a fixed host port would stop --scale worker=3"


def test_yibao_commands_parse_with_the_real_cli() -> None:
    root = typer.main.get_command(app)
    for name, service in app_services().items():
        command = service["command"]
        if command[0] != "yibao":
            continue
        context = root.make_context("yibao", list(command[1:]), resilient_parsing=False)
        sub_name, sub, args = root.resolve_command(context, list(command[1:]))
        assert sub is not None, name
        while isinstance(sub, click.Group):
            inner = sub.make_context(sub_name, args)
            sub_name, sub, args = sub.resolve_command(inner, args)
        sub.make_context(sub_name, args)  # raises on an unknown option or bad value


def test_app_environment_names_are_real_settings() -> None:
    known = settings_env_names()
    for name, service in app_services().items():
        for variable in service.get("environment", {}):
            assert variable.upper() in known, f"{name}: {variable} is not a yibao setting"


def test_topic_job_creates_the_topics_the_stream_uses() -> None:
    script = SERVICES["topics"]["command"][0]
    from streams import topics

    names = {
        value for key, value in vars(topics).items() if key.isupper() and isinstance(value, str)
    }
    for topic in (
        "claims",
        "claims.realtime",
        "claims.intercity",
        "settlements",
        "fraud.flags",
        "claims.dlq",
    ):
        assert re.search(rf"(?<![\w.]){re.escape(topic)}(?![\w.])", script), topic
        assert topic in names, f"streams.topics has no {topic}"


def test_mlflow_server_flags_exist() -> None:
    command = SERVICES["mlflow"]["command"]
    assert command[:2] == ["mlflow", "server"]
    help_text = subprocess.run(
        [sys.executable, "-m", "mlflow", "server", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    for flag in command[2:]:
        option = flag.split("=", 1)[0]
        assert re.search(rf"{re.escape(option)}\b", help_text), option


def test_every_compose_variable_is_in_the_example_env_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    defined = {
        line.split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#")
    }
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert used <= defined, used - defined
