"""Micro-batch fraud scoring in the stream, with hot reload of the MLflow ``champion`` model.

The worker settles first and scores the settled claims of each batch through a
:class:`Scorer`. :class:`ModelWatcher` polls ``models:/<name>@champion`` and
swaps the scorer between batches, without a restart; with no registered model
the worker settles only (and says so once in the log). A new model scores
through ``Booster.predict`` at once and through its compiled form
(``models.compiled``) as soon as a background thread has compiled it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Scorer(Protocol):
    """What the stream needs from a scorer: two stages, so they can overlap across batches."""

    @property
    def version(self) -> str: ...

    def features(self, claims: Sequence[Any]) -> Featurized:
        """Learn validated ``settlement.claim.Claim``s in event order; their features."""
        ...

    def flags(self, batch: Featurized) -> list[dict[str, Any]]:
        """Score records (project score format) of the batch's flagged claims."""
        ...


class ModelScorer:
    """Scores with a loaded registry model through the detection features.

    The feature state (what past claims looked like) is kept across model
    swaps: it belongs to the stream, not to a model version.
    """

    def __init__(self, model: Any, feature_state: Any | None = None) -> None:
        from detection.features import FeatureState
        from models.score import Scorer as BatchScorer

        self._scorer = BatchScorer(
            model, feature_state if feature_state is not None else FeatureState()
        )
        self.model = model

    @property
    def version(self) -> str:
        return str(self._scorer.label)

    @property
    def feature_state(self) -> Any:
        return self._scorer.state

    def features(self, claims: Sequence[Any]) -> Featurized:
        """Stage 1 (holds the GIL; batches strictly in order): learn the claims, return features."""
        from detection.facts import facts_from_claim
        from models.matrix import featurize

        facts, feats, matrix = featurize([facts_from_claim(c) for c in claims], self._scorer.state)
        return Featurized(facts, feats, matrix)

    def flags(self, batch: Featurized) -> list[dict[str, Any]]:
        """Stage 2 (mostly in LightGBM, without the GIL): score records of the flagged claims.

        It may run for batch k while stage 1 runs for batch k+1.
        """
        if not batch.facts:
            return []
        scores = self.model.predict(batch.matrix)
        threshold = self.model.threshold
        hits = [i for i, score in enumerate(scores) if min(max(score, 0.0), 1.0) >= threshold]
        if not hits:
            return []
        return self._scorer.records([batch.facts[i] for i in hits], [batch.feats[i] for i in hits])


def _compile(model: Any, cache_dir: Path) -> None:
    """Compile a loaded model in place (its scores are unchanged; a failure is logged)."""
    started = time.perf_counter()
    if model.compile(cache_dir):
        log.info(
            "scoring through the compiled model",
            extra={"model": model.label, "seconds": round(time.perf_counter() - started, 1)},
        )


@dataclass
class Featurized:
    """A scoring batch after stage 1: facts in event order, their features and matrix."""

    facts: list[Any]
    feats: list[Any]
    matrix: Any  # numpy array, one row per claim


class ModelWatcher:
    """Keeps the current champion loaded; ``scorer`` is None while no model is registered.

    Args:
        model_name: the registered model name.
        tracking_uri: MLflow tracking URI (set process-wide when the watcher starts).
        poll_seconds: how often to look at the alias.
        compiled_dir: where compiled models are cached (None: score with
            ``Booster.predict`` only).
    """

    def __init__(
        self,
        model_name: str,
        tracking_uri: str,
        poll_seconds: float,
        compiled_dir: Path | None = None,
    ) -> None:
        self.model_name = model_name
        self.tracking_uri = tracking_uri
        self.poll_seconds = poll_seconds
        self.compiled_dir = compiled_dir
        self.scorer: ModelScorer | None = None
        #: the stream's fraud-feature memory, kept across model swaps (and restored
        #: from a snapshot before the first model loads, streams.feature_snapshot)
        self.feature_state: Any | None = None
        self.current: str | None = None  # "name/version" of the loaded champion
        self._said_none = False
        self._lock = threading.Lock()  # one look-up and load at a time

    @property
    def version(self) -> str:
        """The model version label in use, or "none" (settling only)."""
        return self.scorer.version if self.scorer else "none"

    def check(self) -> bool:
        """Look up the champion once and load it if it changed; True when swapped.

        Blocking (MLflow is synchronous): call it in a thread from async code.
        """
        with self._lock:
            return self._check()

    def _check(self) -> bool:
        import mlflow
        from mlflow import MlflowClient

        from models.registry import CHAMPION, load_model

        mlflow.set_tracking_uri(self.tracking_uri)
        try:
            mv = MlflowClient().get_model_version_by_alias(self.model_name, CHAMPION)
        except Exception as exc:  # no registered model or alias: MLflow raises its own types
            if not self._said_none:
                log.warning(
                    "no champion model registered; settling only, not scoring",
                    extra={"model": self.model_name, "error": str(exc)[:200]},
                )
                self._said_none = True
            return False
        label = f"{mv.name}/{mv.version}"
        if label == self.current:
            return False
        model = load_model(f"models:/{mv.name}/{mv.version}")
        self.scorer = ModelScorer(model, self.feature_state)
        self.feature_state = self.scorer.feature_state
        previous, self.current = self.current, label
        self._said_none = False
        log.info("scoring model swapped", extra={"model_from": previous, "model_to": label})
        if self.compiled_dir is not None:
            # Off the batch path: Booster.predict scores until the compiled form is ready.
            threading.Thread(
                target=_compile, args=(model, self.compiled_dir), name="model-compile", daemon=True
            ).start()
        return True

    def use_feature_state(self, state: Any) -> None:
        """Score from now on with ``state`` as the feature memory (a restored snapshot)."""
        with self._lock:
            self.feature_state = state
            if self.scorer is not None:
                self.scorer = ModelScorer(self.scorer.model, state)

    async def run(self, stopped: asyncio.Event) -> None:
        """Poll until ``stopped`` is set; errors are logged and retried next round."""
        while not stopped.is_set():
            try:
                await asyncio.to_thread(self.check)
            except Exception:
                log.exception("model check failed; keeping %s", self.version)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), timeout=self.poll_seconds)
