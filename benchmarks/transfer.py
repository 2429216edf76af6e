"""Does the model hold on claims from a world it was not tuned on? Transfer, both ways.

Two labelled-claims generators that share no code: the project's simulator
(``yibao simulate``) and the test world of ``tests/othergen.py`` (different
hospitals, cost shapes, scheme names and strengths). For each generator the
script trains with ``yibao train`` on one seed, then evaluates with
``yibao evaluate --json`` on (a) another seed of the same generator and (b) a
seed of the other generator. It prints claim PR-AUC, hospital precision@10 and
the per-scheme AP of every evaluation::

    .venv/bin/python benchmarks/transfer.py --claims 60000 --max-rounds 300

Everything goes through the command line in a scratch folder (its own MLflow
store), exactly as a user would run it. ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YIBAO = [sys.executable, "-m", "yibao.cli"]


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return done.stdout


def generate(world: str, seed: int, claims: int, out: Path) -> Path:
    """Write ``claims`` labelled claims of ``world`` ('sim' or 'other') to ``out``."""
    if not out.exists():
        if world == "sim":
            _run([*YIBAO, "simulate", "--seed", str(seed), "--claims", str(claims), "-o", str(out)])
        else:
            _run(
                [
                    sys.executable,
                    "-m",
                    "tests.othergen",
                    "--seed",
                    str(seed),
                    "--claims",
                    str(claims),
                    "-o",
                    str(out),
                ]
            )
    return out


def train(data: Path, store: str, name: str, max_rounds: int) -> str:
    """Train through the CLI; the registered model's URI."""
    out = _run(
        [
            *YIBAO,
            "train",
            "--data",
            str(data),
            "--tracking-uri",
            store,
            "--model-name",
            name,
            "--max-rounds",
            str(max_rounds),
        ]
    )
    for line in out.splitlines():
        if line.startswith("model_uri:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"no model_uri in the output of yibao train:\n{out}")


def evaluate(data: Path, store: str, model: str) -> dict[str, object]:
    """``yibao evaluate --json`` of ``model`` on ``data``."""
    out = _run(
        [
            *YIBAO,
            "evaluate",
            "--data",
            str(data),
            "--tracking-uri",
            store,
            "--model",
            model,
            "--json",
        ]
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def summary(result: dict[str, object]) -> dict[str, object]:
    schemes = result.get("per_scheme") or {}
    assert isinstance(schemes, dict)
    return {
        "claim_pr_auc": result.get("claim_pr_auc"),
        "hospital_precision_at_10": result.get("hospital_precision_at_10"),
        "per_scheme_ap": {k: v.get("ap") for k, v in sorted(schemes.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=60000, help="claims per seed")
    parser.add_argument("--max-rounds", type=int, default=300)
    parser.add_argument("--train-seed", type=int, default=3)
    parser.add_argument("--test-seed", type=int, default=4)
    parser.add_argument("--workdir", type=Path, help="keep data and the MLflow store here")
    parser.add_argument("--worlds", default="sim,other", help="train worlds, comma-separated")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="yibao-transfer-"))
    work.mkdir(parents=True, exist_ok=True)
    store = f"sqlite:///{work / 'mlflow.db'}"

    def data(world: str, seed: int) -> Path:
        return generate(world, seed, args.claims, work / f"{world}{seed}-{args.claims}.jsonl")

    rows = []
    for world in args.worlds.split(","):
        other = "other" if world == "sim" else "sim"
        t = time.perf_counter()
        model = train(data(world, args.train_seed), store, f"transfer-{world}", args.max_rounds)
        trained = time.perf_counter() - t
        for target in (world, other):
            result = summary(evaluate(data(target, args.test_seed), store, model))
            rows.append(
                {
                    "train": f"{world}:{args.train_seed}",
                    "test": f"{target}:{args.test_seed}",
                    "model": model,
                    "train_seconds": round(trained, 1),
                    **result,
                }
            )
            if not args.json:
                r = rows[-1]
                print(
                    f"train {r['train']:<9} test {r['test']:<9} "
                    f"PR-AUC {r['claim_pr_auc']:.4f}  hospital P@10 "
                    f"{r['hospital_precision_at_10']:.2f}",
                    flush=True,
                )
                for scheme, ap in r["per_scheme_ap"].items():  # type: ignore[attr-defined]
                    print(f"    {scheme:<26}{ap:>8.4f}", flush=True)
    if args.json:
        print(json.dumps({"claims": args.claims, "max_rounds": args.max_rounds, "runs": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
