"""A LightGBM model compiled to machine code (lleaves), with ``Booster.predict`` as the fallback.

:func:`compile_booster` turns a booster into a predictor whose scores equal
``Booster.predict``'s (checked on sample rows before use) at a fraction of
its cost per call. It compiles once per model version and host: the object
code is cached on disk under a key made of the model's text, the compiler's
versions and the host CPU, so a restarted worker loads it in a moment. It is
compiled where it runs, not at training time, because the code is made for
the CPU it was compiled on. When compiling is not possible (lleaves missing,
an LLVM error, a disagreeing sample) it returns None, the caller keeps
``Booster.predict``, and the reason is logged once per process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Below this many rows one thread answers sooner than a pool (as for Booster.predict).
SINGLE_THREAD_ROWS = 500
# The compiled scores must equal Booster.predict's on sample rows within this.
TOLERANCE = 1e-9
# LightGBM's kZeroThreshold (1e-35 as a C float): inputs within it count as 0.
LIGHTGBM_ZERO = float(np.float32(1e-35))
_SAMPLE_ROWS = 256
_said: set[str] = set()


class CompiledPredictor:
    """Scores of a compiled model: ``Booster.predict(X)`` (probabilities), faster.

    Args:
        model: the compiled ``lleaves.Model``.
        key: the cache key it was compiled under (the model's digest and the host).
    """

    def __init__(self, model: Any, key: str) -> None:
        self._model = model
        self.key = key

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Scores of the rows of ``X`` (float64, one column per feature)."""
        rows = np.ascontiguousarray(X, dtype=np.float64)
        # Booster.predict reads these as 0 before its trees compare them; lleaves
        # would compare them as they are, and a split at -1e-35 would part the two.
        # Exact zeros are left out: most rows hold some, and they need no copy.
        tiny = (np.abs(rows) <= LIGHTGBM_ZERO) & (rows != 0.0)
        if tiny.any():
            rows = np.where(tiny, 0.0, rows)
        jobs = 1 if len(rows) < SINGLE_THREAD_ROWS else os.cpu_count() or 1
        return np.asarray(self._model.predict(rows, n_jobs=jobs))


def compile_booster(booster: Any, cache_dir: Path) -> CompiledPredictor | None:
    """The booster compiled (or loaded from ``cache_dir``), or None to keep ``Booster.predict``.

    Never raises for a model that cannot be compiled: the reason is logged once
    per process and None returned.

    Args:
        booster: a trained ``lightgbm.Booster`` (binary objective).
        cache_dir: where compiled models are kept, one file per model and host.
    """
    try:
        import lleaves
    except ImportError:
        _say_once(
            "lleaves-missing",
            "lleaves is not installed; scoring with Booster.predict (pip install 'yibao[models]')",
        )
        return None
    text = booster.model_to_string()
    try:
        key = cache_key(text)
        cache_dir.mkdir(parents=True, exist_ok=True)
        model = _compiled(lleaves, text, cache_dir / f"{key}.o")
        predictor = CompiledPredictor(model, key)
        worst = _disagreement(booster, text, predictor)
    except Exception as exc:  # LLVM, the file system and lleaves raise their own types
        _say_once(
            f"error:{type(exc).__name__}:{exc}",
            f"cannot compile the model ({type(exc).__name__}: {exc}); scoring with Booster.predict",
        )
        return None
    if not worst <= TOLERANCE:
        _say_once(
            f"differs:{key}",
            f"the compiled model differs from Booster.predict by {worst:.3g} on sample rows; "
            "scoring with Booster.predict",
        )
        (cache_dir / f"{key}.o").unlink(missing_ok=True)
        return None
    return predictor


def cache_key(model_text: str) -> str:
    """A digest of the model's text, the compiler's versions and the host CPU."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:  # LLVM cannot tell on some hosts
        features = ""
    parts = [
        model_text,
        metadata.version("lleaves"),
        metadata.version("llvmlite"),
        llvm.get_process_triple(),
        llvm.get_host_cpu_name(),
        features,
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


@contextlib.contextmanager
def _one_compiler(cache_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache directory (POSIX ``flock``; elsewhere none).

    The worker processes of ``yibao stream --processes N`` load a new champion
    at the same moment: without it each compiled the same model (a minute of a
    core for a thousand trees), with it one compiles and the others wait, then
    load the cached file. They score through ``Booster.predict`` meanwhile.
    The directory itself is locked, so no lock file is left behind.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: compile side by side (the rename keeps the file whole)
        yield
        return
    fd = os.open(cache_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _compiled(lleaves: Any, text: str, cached: Path) -> Any:
    """An ``lleaves.Model`` of the model text, loaded from ``cached`` or compiled into it."""
    with _one_compiler(cached.parent), tempfile.TemporaryDirectory(prefix="yibao-compile-") as tmp:
        model_file = Path(tmp) / "model.txt"
        model_file.write_text(text, encoding="utf-8")
        model = lleaves.Model(model_file=str(model_file))
        if cached.exists():
            model.compile(cache=str(cached))
            return model
        # Written beside and renamed, so a reader never sees half a file.
        fresh = Path(tmp) / "model.o"
        model.compile(cache=str(fresh))
        staged = cached.with_name(f".{cached.name}.{os.getpid()}")
        staged.write_bytes(fresh.read_bytes())
        os.replace(staged, cached)
        log.info("compiled the model into %s", cached)
        return model


def _disagreement(booster: Any, text: str, predictor: CompiledPredictor) -> float:
    """The largest score difference from ``Booster.predict`` on rows at and beside the splits.

    Each value is one of the model's own split thresholds (where ``<=`` decides),
    a hair above or below one, or 0: the values where two implementations of
    the same trees could part.
    """
    rng = np.random.default_rng(0)
    n_features = booster.num_feature()
    splits: list[list[float]] = [[0.0] for _ in range(n_features)]
    features: list[str] = []
    for line in text.splitlines():
        if line.startswith("split_feature="):
            features = line[len("split_feature=") :].split()
        elif line.startswith("threshold="):
            for f, t in zip(features, line[len("threshold=") :].split(), strict=True):
                splits[int(f)].append(float(t))
    X = np.empty((_SAMPLE_ROWS, n_features))
    for j, values in enumerate(splits):
        picked = rng.choice(np.asarray(values), size=_SAMPLE_ROWS)
        beside = np.nextafter(picked, rng.choice([-np.inf, np.inf], size=_SAMPLE_ROWS))
        X[:, j] = np.where(rng.random(_SAMPLE_ROWS) < 0.5, picked, beside)
    expected = np.asarray(booster.predict(X, num_threads=1))
    return float(np.max(np.abs(predictor.predict(X) - expected)))


def _say_once(reason: str, message: str) -> None:
    if reason not in _said:
        _said.add(reason)
        log.warning(message)
