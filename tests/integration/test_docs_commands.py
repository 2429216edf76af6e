"""Every command in the docs runs as written, or at least names a real command and real options.

Shell blocks fenced as ```` ```sh runnable ```` in ``docs/*.md`` run, in order per
file, with ``bash -euo pipefail`` in a fresh working directory with its own
DATA_DIR, MLflow store and review database. Every other shell block of the docs
and the README (Docker, servers, placeholders) is parsed instead: each ``yibao``
command must name real subcommands and options of the Typer app, each
``make`` target must exist, each ``docker compose`` service must be defined.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
import yaml

from yibao.cli import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
SHELL_LANGS = {"sh", "bash", "shell", "console"}
BLOCK_TIMEOUT_S = 900
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # line number of the opening fence (1-based)
    info: tuple[str, ...]
    text: str

    @property
    def lang(self) -> str:
        return self.info[0] if self.info else ""

    @property
    def runnable(self) -> bool:
        return self.lang in SHELL_LANGS and "runnable" in self.info[1:]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, start = match["fence"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        blocks.append(Block(path, start + 1, tuple(match["info"].split()), "\n".join(body) + "\n"))
        i += 1
    return blocks


# -- runnable blocks --------------------------------------------------------------------


def runnable_files() -> list[Path]:
    return [p for p in DOCS if any(b.runnable for b in code_blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("doc", runnable_files(), ids=lambda p: p.name)
def test_runnable_blocks_run_as_written(doc: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "REVIEW_"))}
    env.update(
        DATA_DIR=str(tmp_path / "var"),
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'review.db'}",
        PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    for block in (b for b in code_blocks(doc) if b.runnable):
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"{block.where}: block exited {done.returncode}\n--- block\n{block.text}"
                f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}",
                pytrace=False,
            )


def test_the_guides_have_runnable_blocks() -> None:
    names = {p.name for p in runnable_files()}
    assert {"operator-runbook.md", "data-scientist-guide.md", "clerk-guide.md"} <= names


# -- every other shell command is checked against the real CLI --------------------------

OPERATORS = {"|", "||", "&&", ";", "&", "(", ")"}
REDIRECT = re.compile(r"^\d*(>>?|<)(&\d+)?")


def shell_commands(text: str) -> list[list[str]]:
    """Simple commands (word lists) of a shell block: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    commands: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("$ "):  # console transcripts
            line = line[2:]
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        current: list[str] = []
        skip_next = False
        for word in words:
            if skip_next:
                skip_next = False
                continue
            bare = word.rstrip(";")
            if word in OPERATORS:
                commands.append(current)
                current = []
                continue
            if REDIRECT.match(word):
                skip_next = REDIRECT.fullmatch(word) is not None and not word.endswith(("&1", "&2"))
                continue
            current.append(bare)
            if bare != word:
                commands.append(current)
                current = []
        commands.append(current)
    return [c for c in commands if c]


def yibao_args(words: list[str]) -> list[str] | None:
    """The arguments of a ``yibao`` invocation in a simple command, or None if there is none.

    Synopsis notation is read as the fullest form: ``[--opt X]`` keeps the
    option, ``A|B`` keeps the first alternative.
    """
    for i, word in enumerate(words):
        word = word.split("$(")[-1].lstrip("`")
        if word.rsplit("/", 1)[-1] == "yibao":
            out = []
            for arg in words[i + 1 :]:
                arg = arg.replace("[", "").replace("]", "").rstrip(")`")
                if "|" in arg:
                    arg = arg.split("|", 1)[0]
                if arg and arg != "...":
                    out.append(arg)
            return out
    return None


def check_yibao(args: list[str]) -> None:
    """Raise AssertionError unless ``yibao ARGS`` names a real command with real options."""
    cmd = typer.main.get_command(app)
    path = ["yibao"]
    rest = list(args)
    while hasattr(cmd, "commands"):  # a group (typer vendors its own click classes)
        flags = {o for p in cmd.params if getattr(p, "is_flag", False) for o in p.opts}
        while rest and rest[0] in flags and rest[0] != "--help":  # yibao --debug status
            rest.pop(0)
        if not rest or rest[0].startswith("-"):
            break
        name = rest.pop(0)
        sub = cmd.commands.get(name)
        assert sub is not None, f"`{' '.join(path)}` has no command {name!r}"
        cmd = sub
        path.append(name)
    ctx = cmd.context_class(cmd, info_name=" ".join(path))
    parser = cmd.make_parser(ctx)
    try:
        opts, extra, _ = parser.parse_args(list(rest))
    except Exception as exc:  # click's UsageError family, from typer's vendored click
        raise AssertionError(f"`{' '.join(path)}`: {exc}") from None
    if opts.get("help"):
        return
    assert not extra, f"`{' '.join(path)}`: unexpected extra arguments {extra}"
    if hasattr(cmd, "commands"):
        return
    for param in cmd.params:
        if getattr(param, "hidden", False) and opts.get(param.name) not in (None, ()):
            raise AssertionError(
                f"`{' '.join(path)}`: {param.opts[0]} is an old name kept for scripts"
            )
        if param.required:
            name = param.opts[0] if param.opts else param.name
            assert opts.get(param.name) not in (None, ()), f"`{' '.join(path)}`: missing {name}"


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:", text, flags=re.M))


def compose_services() -> set[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return set(compose["services"])


def check_other(words: list[str]) -> None:
    """Check ``make TARGET`` and ``docker compose`` service names."""
    if words[0] == "make":
        for target in (w for w in words[1:] if not w.startswith("-") and "=" not in w):
            assert target in make_targets(), f"Makefile has no target {target!r}"
    if words[:2] == ["docker", "compose"]:
        services = compose_services()
        for i, word in enumerate(words):
            if word == "--scale":
                name = words[i + 1].split("=", 1)[0]
                assert name in services, f"docker-compose.yml has no service {name!r}"
        verb, rest = (words[2], words[3:]) if len(words) > 2 else ("", [])
        if verb in {"run", "exec"}:
            service = None
            skip = False
            for word in rest:
                if skip:
                    skip = False
                elif word in VALUE_OPTIONS:
                    skip = True
                elif not word.startswith("-"):
                    service = word
                    break
            assert service in services, f"docker-compose.yml has no service {service!r}"
        elif verb in {"up", "logs", "restart", "stop", "start", "ps"}:
            for name in (w for w in rest if not w.startswith("-") and "=" not in w):
                if rest[rest.index(name) - 1] != "--scale":
                    assert name in services, f"docker-compose.yml has no service {name!r}"


# `docker compose run/exec` options that take a value (the service name follows them)
VALUE_OPTIONS = {"-v", "--volume", "-e", "--env", "--name", "--entrypoint", "-w", "--workdir",
                 "-u", "--user", "-p", "--publish", "-l", "--label"}  # fmt: skip


def shell_blocks() -> list[Block]:
    blocks = []
    for path in [*DOCS, ROOT / "README.md"]:
        # untagged blocks hold command synopses too (docs/stream.md, docs/simulator.md)
        blocks.extend(b for b in code_blocks(path) if b.lang in SHELL_LANGS or not b.lang)
    return blocks


@pytest.mark.parametrize("block", shell_blocks(), ids=lambda b: b.where)
def test_shell_blocks_name_real_commands(block: Block) -> None:
    errors: list[tuple[str, str]] = []
    for words in shell_commands(block.text):
        args = yibao_args(words)
        try:
            check_other(words)
            if args is not None:
                check_yibao(args)
        except AssertionError as exc:
            errors.append((" ".join(words), str(exc)))
    report = "\n".join(f"{block.where}: {cmd}\n  {why}" for cmd, why in errors)
    assert not errors, report


def test_the_checker_catches_wrong_commands() -> None:
    check_yibao(["settle", "claims.jsonl", "-o", "out.jsonl"])
    check_yibao(["models", "promote", "3", "--data", "HELDOUT.jsonl"])
    check_yibao(["--help"])
    check_yibao(["--debug", "dlq", "export"])
    for wrong in (
        ["settel", "claims.jsonl"],
        ["settle", "claims.jsonl", "--bogus"],
        ["score", "claims.jsonl"],  # --data is required; a positional is extra
        ["score", "--data", "claims.jsonl", "--out", "scores.jsonl"],  # old name of -o
        ["models", "promot", "3"],
    ):
        with pytest.raises(AssertionError):
            check_yibao(wrong)
    assert yibao_args(shlex.split("yibao settle [--policies DIR] CLAIMS.jsonl|- [-o OUT|-]")) == [
        "settle",
        "--policies",
        "DIR",
        "CLAIMS.jsonl",
        "-o",
        "OUT",
    ]
    check_other(shlex.split("docker compose run --rm -v a:/b worker yibao stream"))
    check_other(shlex.split("docker compose up -d --scale worker=3 kafka topics"))
    with pytest.raises(AssertionError):
        check_other(shlex.split("docker compose run -d --name x workers yibao stream"))
    with pytest.raises(AssertionError):
        check_other(["make", "dmeo"])
    assert shell_commands("A=1 yibao settle x.jsonl | head -3 > out.txt\n") == [
        ["A=1", "yibao", "settle", "x.jsonl"],
        ["head", "-3"],
    ]


# -- the dead-letter procedure of the operator runbook -----------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_dead_letters_export_fix_and_replay(tmp_path: Path) -> None:
    """`yibao dlq export` reads what a real worker dead-letters; the fixed claim settles."""
    from settlement.idnumber import mask_person_id
    from simulator.config import SimConfig
    from simulator.generate import simulate
    from streams.broker import create_topics, start_broker
    from streams.replay import replay
    from streams.topics import CLAIM_TOPICS, SETTLEMENTS, topic_layout
    from testkit.workers import start_worker, wait_for_claims

    claim, other = list(simulate(SimConfig(seed=5, claims=5)))[:2]
    pid = other["patient"]["person_id"]
    sent = {
        claim["claim_id"]: json.dumps(dict(claim, claim_type="emergency"), ensure_ascii=False),
        # a sender's column shift: the identity number lands in claim_type and in the reason
        other["claim_id"]: json.dumps(dict(other, claim_type=pid), ensure_ascii=False),
    }
    broker = start_broker()
    worker = None
    try:
        create_topics(broker.bootstrap, topic_layout(2))
        replay([*(v.encode() for v in sent.values()), b"this is not json"], broker.bootstrap)
        worker = start_worker(broker.bootstrap, tmp_path / "worker", app_id="t-docs-dlq")
        worker.wait_ready()
        worker.wait_processed(3)

        env = {**os.environ, "KAFKA_BOOTSTRAP": broker.bootstrap}
        yibao = str(ROOT / ".venv" / "bin" / "yibao")
        export = subprocess.run(
            [yibao, "dlq", "export", "-o", "dlq.jsonl", "--claims-out", "to-fix.jsonl",
             "--idle", "2"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert "3 dead letters; reasons: malformed 3" in export.stderr
        assert pid not in export.stdout + export.stderr  # the printed summary is masked
        assert f"claim_type '{mask_person_id(pid)}' is not" in export.stderr

        rows = [json.loads(line) for line in (tmp_path / "dlq.jsonl").read_text().splitlines()]
        by_id = {row["claim_id"]: row for row in rows}
        for claim_id, text in sent.items():
            row = by_id[claim_id]
            assert row["value"] == text  # the original message, identity number included
            assert {r["code"] for r in row["reasons"]} == {"malformed"}
            assert row["source"]["topic"] in CLAIM_TOPICS
            assert isinstance(row["source"]["offset"], int)
        assert "claim_type 'emergency'" in by_id[claim["claim_id"]]["reasons"][0]["message"]
        assert pid not in json.dumps(by_id[other["claim_id"]]["reasons"])  # reasons are masked
        (not_json,) = [r for r in rows if r["value"] == "this is not json"]
        assert not_json["claim_id"] == "{topic}:{partition}:{offset}".format(**not_json["source"])
        values = (tmp_path / "to-fix.jsonl").read_text().splitlines()
        assert sorted(values) == sorted([*sent.values(), "this is not json"])

        # fix: drop what is not a claim, correct the rest; check with settle, then re-send
        fixed = tmp_path / "fixed.jsonl"
        fixed.write_text(
            json.dumps(dict(json.loads(by_id[claim["claim_id"]]["value"]),
                            claim_type=claim["claim_type"])) + "\n"
        )  # fmt: skip
        check = subprocess.run(
            [yibao, "settle", str(fixed)], capture_output=True, text=True, env=env, check=True
        )
        assert json.loads(check.stdout)["status"] == "settled"
        subprocess.run([yibao, "replay", str(fixed)], env=env, check=True, timeout=120)
        records = wait_for_claims(broker.bootstrap, SETTLEMENTS, {claim["claim_id"]})
        statuses = [
            json.loads(r.value)["status"] for r in records if r.key == claim["claim_id"].encode()
        ]
        assert statuses[0] == "rejected" and "settled" in statuses
    finally:
        if worker is not None:
            worker.stop()
        broker.stop()


# -- links between the docs -----------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file (code blocks skipped)."""
    text = path.read_text(encoding="utf-8")
    for block in code_blocks(path):
        text = text.replace(block.text, "")
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


@pytest.mark.parametrize("doc", [*DOCS, ROOT / "README.md"], ids=lambda p: p.name)
def test_links_point_at_files_and_headings_that_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for block in code_blocks(doc):
        text = text.replace(block.text, "")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked (no network)
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{doc.relative_to(ROOT)}: " + "; ".join(broken)
