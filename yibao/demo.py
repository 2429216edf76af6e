"""The demo: the whole system on embedded defaults, on one machine.

Starts the embedded broker and an MLflow UI, simulates a year of claims (the
365 days that ended yesterday), settles and scores them, trains a champion
model when there is none, loads the review database, starts the stream worker
and the review app, and replays today's claims up to now: the same world's
persons and hospitals as the year's, so a live claim's patient has a history.
A second run the same day reuses what the first one built (files and markers
under ``DATA_DIR/demo``); on a later day the year and today are simulated again
(the new year ends the new yesterday) and the review database is loaded afresh.
Ctrl-C stops every process it started.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from simulator.live import CLAIM_TZ, live_date, year_before
from yibao.settings import Settings
from yibao.supervisor import StartError, Supervisor, free_port_from, http_ok, port_open

log = logging.getLogger(__name__)

DEMO_USERS = (
    ("clerk", "clerk", "clerk-demo-2026"),
    ("supervisor", "supervisor", "supervisor-demo-2026"),
    ("analyst", "data_scientist", "analyst-demo-2026"),
)
# Folds of hospitals for the year's out-of-fold scores: each fold refits the demo
# model's rounds on the other folds (docs/data-scientist-guide.md has the cost).
CROSS_FIT_FOLDS = 3
# A few honest claims break an audit rule (simulator/rule_violations.py), so the
# review app shows certain hits beside the suspicious ones the simulator makes anyway.
RULE_VIOLATION_RATE = 0.01


@dataclass(frozen=True)
class DemoPlan:
    """What the demo builds; the defaults bring it up in a few minutes on 2 cores."""

    year_claims: int = 40_000
    live_claims: int = 3_000
    replay_rate: float = 25.0
    seed: int = 2026
    partitions: int = 4
    broker_port: int = 9092  # the first port tried; the next free one is taken
    mlflow_port: int = 5000


# What the demo simulated, settled, scored and loaded for one live day: all of it
# is made again when the day (or the plan's data) changes.
DAY_FILES = (
    "claims-year.jsonl",
    "claims-today.jsonl",
    "claims-today.until",
    "settlements-year.jsonl",
    "scores-year.jsonl",
    "hospitals-year.jsonl",
    "review-loaded.marker",
)
DATA_STAMP = "data.json"


class Demo:
    def __init__(self, settings: Settings, plan: DemoPlan, now: dt.datetime | None = None) -> None:
        self.settings = settings
        self.plan = plan
        self.home = (settings.data_dir / "demo").resolve()
        self.logs = self.home / "logs"
        # The clock is read once: the year ends the day before today, and today's
        # claims are submitted between its midnight (China time) and now.
        self.now = (now or dt.datetime.now()).astimezone()
        self.today = live_date(self.now)
        self.year_start = year_before(self.today)
        self.env = dict(os.environ)
        self.env["DATA_DIR"] = str(settings.data_dir.resolve())
        self.env["MLFLOW_TRACKING_URI"] = settings.tracking_uri()
        self.env["DATABASE_URL"] = settings.review_database_url()
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.supervisor = Supervisor(self.logs, self.env)
        self.yibao = [sys.executable, "-m", "yibao.cli"]

    # -- batch steps -----------------------------------------------------------------

    def batch(self, name: str, args: list[str], output: Path | None = None, total: int = 0) -> None:
        """Run a yibao command to completion, with a progress bar on its output lines."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.logs / f"{name}.log"
        with log_path.open("ab") as sink:
            process = subprocess.Popen(
                [*self.yibao, *args], stdout=sink, stderr=subprocess.STDOUT, env=self.env,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
            bar_format = None if output is not None else "  {desc}: {elapsed}"
            with tqdm(
                total=total or None, desc=f"  {name}", unit=" claims", bar_format=bar_format
            ) as bar:
                while process.poll() is None:
                    time.sleep(0.5)
                    if output is not None and output.exists():
                        bar.n = _count_lines(output)
                    # a step without an output file shows its elapsed time ticking
                    bar.refresh()
                if output is not None and output.exists():
                    bar.n = _count_lines(output)
                    bar.refresh()
        if process.returncode != 0:
            raise StartError(f"{name} failed with code {process.returncode}; see {log_path}")

    def data_stamp(self) -> dict[str, object]:
        """What the files under ``home`` are made from: the live day and the plan."""
        return {
            "today": self.today.isoformat(),
            "seed": self.plan.seed,
            "year_claims": self.plan.year_claims,
            "live_claims": self.plan.live_claims,
        }

    def forget_other_days(self) -> bool:
        """Remove what was built for another day or plan; True when anything was.

        The review database goes too when it is the demo's own SQLite file: it
        holds the other year's claims, its users and the follower's offsets.
        """
        stamp_path = self.home / DATA_STAMP
        try:
            stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            stamp = None
        if stamp == self.data_stamp():
            return False
        stale = [self.home / name for name in DAY_FILES if (self.home / name).exists()]
        if stale and self.settings.database_url:
            raise StartError(
                f"the demo's data under {self.home} were made for {stamp or 'an older demo'}; "
                f"today's need an empty review database, but DATABASE_URL names one the "
                "demo does not own: empty it (or unset DATABASE_URL) and start again"
            )
        for path in stale:
            path.unlink()
        if (stale or stamp is not None) and self.settings.database_url is None:
            database = (self.settings.data_dir / "review.db").resolve()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        stamp_path.write_text(json.dumps(self.data_stamp()), encoding="utf-8")
        return bool(stale)

    def year_args(self) -> list[str]:
        """``yibao simulate`` options of the year: the 365 days before today, and
        nothing submitted after them (no spill into today or later)."""
        return ["--seed", str(self.plan.seed), "--claims", str(self.plan.year_claims),
                "--start", self.year_start.isoformat(), "--days", "365", "--no-spill",
                "--rule-violation-rate", str(RULE_VIOLATION_RATE)]  # fmt: skip

    def prepare_data(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.forget_other_days():
            print(f"  the data were made for another day or plan: simulating the year to "
                  f"{self.today - dt.timedelta(days=1)} again", flush=True)  # fmt: skip
        year, live = self.home / "claims-year.jsonl", self.home / "claims-today.jsonl"
        until_path = self.home / "claims-today.until"
        if not year.exists():
            self.batch(
                "simulate a year",
                ["simulate", *self.year_args(), "-o", str(year) + ".part"],
                Path(str(year) + ".part"), self.plan.year_claims,
            )  # fmt: skip
            Path(str(year) + ".part").rename(year)
        if not (live.exists() and until_path.exists()):
            # Today continues the year: the same world (persons, hospitals, fraud
            # plan), its claims submitted from midnight up to the clock's now.
            self.batch(
                "simulate today up to now",
                ["simulate", *self.year_args(),
                 "--day-after", str(self.plan.live_claims), "--until", self.now.isoformat(),
                 "--corrupt-rate", "0.01",
                 "-o", str(live) + ".part"],
                Path(str(live) + ".part"), self.plan.live_claims,
            )  # fmt: skip
            until_path.write_text(self.now.isoformat(), encoding="utf-8")
            Path(str(live) + ".part").rename(live)
        until = dt.datetime.fromisoformat(until_path.read_text(encoding="utf-8").strip())
        print(f"  the year {self.year_start} to {self.today - dt.timedelta(days=1)}; today "
              f"{self.today}, claims submitted up to {until.astimezone(CLAIM_TZ):%H:%M} "
              "(+08:00)", flush=True)  # fmt: skip

    def settle(self) -> None:
        year = self.home / "claims-year.jsonl"
        settlements = self.home / "settlements-year.jsonl"
        if not settlements.exists():
            self.batch("settle the year", ["settle", str(year), "-o", str(settlements)],
                       settlements, self.plan.year_claims)  # fmt: skip

    def score_load(self) -> None:
        """Train a champion if there is none, score the year and load the review database
        (MLflow's store must exist: the UI made it)."""
        year = self.home / "claims-year.jsonl"
        settlements, scores = self.home / "settlements-year.jsonl", self.home / "scores-year.jsonl"
        hospitals = self.home / "hospitals-year.jsonl"
        if not self.has_champion():
            # 300 rounds: a demo model in well under a minute (the default, up to
            # 1,000, gains a few points of PR-AUC for several times the wait).
            self.batch(
                "train a champion model", ["train", "--data", str(year), "--max-rounds", "300"]
            )
            scores.unlink(missing_ok=True)
        if not scores.exists():
            # The model was trained on this year: scored in-sample, its claims read
            # 1.000 at the top of the queue and several times the capacity is
            # flagged. Cross-fitted by hospital, each claim gets an honest score.
            self.batch(
                "score the year (cross-fitted by hospital)",
                ["score", "--data", str(year), "-o", str(scores), "--hospitals", str(hospitals),
                 "--cross-fit", str(CROSS_FIT_FOLDS)],
                scores, self.plan.year_claims,
            )  # fmt: skip
        loaded = self.home / "review-loaded.marker"
        if not loaded.exists():
            self.batch(
                "load the review database",
                ["review", "load", "--claims", str(year), "--settlements", str(settlements),
                 "--scores", str(scores), "--hospitals", str(hospitals)],
            )  # fmt: skip
            for name, role, password in DEMO_USERS:
                self.batch(f"add user {name}", ["users", "add", name, "--role", role,
                                                "--password", password])  # fmt: skip
            loaded.write_text(dt.datetime.now().isoformat(), encoding="utf-8")

    def has_champion(self) -> bool:
        """A champion this code can load: one trained on its feature version (an older
        demo's model is retrained after an upgrade that changed the features)."""
        from detection.features import FEATURE_VERSION

        probe = (
            "import mlflow,sys;mlflow.set_tracking_uri(sys.argv[1]);"
            "v=mlflow.MlflowClient().get_model_version_by_alias(sys.argv[2],'champion');"
            "m=mlflow.models.get_model_info(f'models:/{v.name}/{v.version}').metadata or {};"
            "sys.exit(0 if str(m.get('feature_version'))==sys.argv[3] else 3)"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe, self.settings.tracking_uri(), self.settings.model_name,
             str(FEATURE_VERSION)],
            capture_output=True, env=self.env, check=False,
        )  # fmt: skip
        return done.returncode == 0

    # -- services --------------------------------------------------------------------

    def start_services(self) -> dict[str, str]:
        sup = self.supervisor
        broker_port = free_port_from(self.plan.broker_port)
        self.env["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{broker_port}"
        broker = sup.start("broker", [*self.yibao, "broker", "--port", str(broker_port),
                                      "--partitions", str(self.plan.partitions)])  # fmt: skip
        sup.wait_until(broker, lambda: "broker listening" in _read(broker.log_path), 60, "ready")

        mlflow_port = free_port_from(self.plan.mlflow_port)
        mlflow_ui = sup.start("mlflow-ui", [
            sys.executable, "-m", "mlflow", "ui",
            "--backend-store-uri", self.settings.tracking_uri(),
            # artifacts the UI serves stay under var/ too (MLflow's default: ./mlartifacts)
            "--artifacts-destination", (self.settings.data_dir / "mlartifacts").resolve().as_uri(),
            "--host", "127.0.0.1", "--port", str(mlflow_port),
            # One web process, not 4, and no job runner (7 task consumers the demo
            # never uses): on 2 cores a worker restarted mid-import held a Ctrl-C
            # up for the 15 s grace, and the UI was killed.
            "--workers", "1",
        ], env={**self.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})  # fmt: skip
        self.settle()  # needs no MLflow: runs while the UI starts
        # The UI creates a new store's tables; a command opening the store at the same
        # time migrates it too, and one of them fails ("Online migration expected to
        # match one row"). So nothing else touches MLflow until the UI answers.
        sup.wait_until(mlflow_ui, lambda: http_ok(f"http://127.0.0.1:{mlflow_port}/health"), 120,
                       "answering")  # fmt: skip
        self.score_load()

        # The demo's broker is new and empty on every run (memory storage): the worker
        # starts from nothing by design, so an earlier run's broker-loss marker is moot.
        from streams.app import group_id
        from streams.lifecycle import data_loss_marker

        data_loss_marker(self.settings.data_dir, group_id("yibao-stream")).unlink(missing_ok=True)
        stream_port = free_port_from(self.settings.stream_web_port)
        worker = sup.start("stream-worker", [*self.yibao, "stream", "--web-port", str(stream_port)])
        review_port = free_port_from(self.settings.review_port)
        review = sup.start(
            "review-app", [*self.yibao, "review", "serve", "--port", str(review_port)]
        )
        sup.wait_until(review, lambda: http_ok(f"http://127.0.0.1:{review_port}/login"), 120,
                       "answering")  # fmt: skip
        sup.wait_until(worker, lambda: http_ok(f"http://127.0.0.1:{stream_port}/ready"), 180,
                       "ready")  # fmt: skip
        sup.start("review-follow", [*self.yibao, "review", "follow"])
        sup.start("replay-today", [*self.yibao, "replay", str(self.home / "claims-today.jsonl"),
                                   "--rate", str(self.plan.replay_rate)])  # fmt: skip
        return {
            "review": f"http://127.0.0.1:{review_port}/",
            "mlflow": f"http://127.0.0.1:{mlflow_port}/",
            "metrics": f"http://127.0.0.1:{stream_port}/metrics",
            "broker": self.env["KAFKA_BOOTSTRAP"],
        }

    def run(self) -> None:
        started = time.monotonic()
        # `kill`, a closed terminal or a service manager must stop the children
        # too, as Ctrl-C does: the same clean-up path.
        for stop_signal in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, _interrupt)
        try:
            print("yibao demo: data and logs in", self.home, flush=True)
            self.prepare_data()
            urls = self.start_services()
            elapsed = time.monotonic() - started
            print(f"\nyibao is up after {elapsed:.0f} s.")
            print(f"  review app   {urls['review']}")
            for name, role, password in DEMO_USERS:
                print(f"      log in as {name!r} ({role}) with password {password!r}")
            print(f"  MLflow UI    {urls['mlflow']}")
            print(f"  metrics      {urls['metrics']}")
            print(f"  broker       {urls['broker']}")
            print(
                "Replaying today's claims through the stream; Ctrl-C stops everything.", flush=True
            )
            while True:
                time.sleep(1)
                for child in self.supervisor.children:
                    if child.name != "replay-today" and child.process.poll() is not None:
                        raise StartError(f"{child.name} stopped; see {child.log_path}")
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)
        finally:
            # A second signal must not cut the clean-up short.
            for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(stop_signal, signal.SIG_IGN)
            self.supervisor.stop_all()
            print("all demo processes stopped.", flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _count_lines(path: Path) -> int:
    with path.open("rb") as source:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: source.read(1 << 20), b""))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


__all__ = ["Demo", "DemoPlan", "port_open"]
