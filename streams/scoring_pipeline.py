"""Scoring of settled claims in two stages on worker threads, batch after batch.

1. **features**: Python holding the GIL; strictly one batch after the other,
   as the feature state learns claims in order;
2. **model**: LightGBM (``Booster.predict``, and ``pred_contrib`` for the
   flagged claims) without the GIL, so stage 2 of batch *k* overlaps stage 1
   of batch *k+1* and the settling of the batches after it.

Stage 1 also checks the claims against the audit-rule catalogue and folds
them into its windows (streams/audit_rules.py), so a certain hit is flagged
with or without a model. A scoring fault never stops settling: the batch's
flags are lost, logged and counted (``yibao_scoring_errors``). Measured numbers: docs/stream.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from detection.rule_engine import RuleHit
from settlement.jsonio import encode_record_bytes
from streams.audit_rules import StreamRules, merge_flags
from streams.flag_rate import FlagRateWindow
from streams.metrics import StreamMetrics
from streams.outbox import Outbox
from streams.topics import FRAUD_FLAGS

log = logging.getLogger(__name__)


class ScoringPipeline:
    """Feeds settled claims to a scorer and sends the flags.

    Args:
        outbox: where flags go (``fraud.flags``).
        metrics: where scored claims and faults are counted.
        audit: the audit rules and their windows (None: no rules).
    """

    def __init__(
        self, outbox: Outbox, metrics: StreamMetrics, audit: StreamRules | None = None
    ) -> None:
        self.outbox = outbox
        self.metrics = metrics
        self.audit = audit
        self._last_stage1: asyncio.Future[Any] | None = None
        self.flag_rate = FlagRateWindow()
        self._rate_version: str | None = None

    def submit(
        self, scorer: Any | None, claims: list[Any]
    ) -> asyncio.Future[tuple[list[Any], int]]:
        """Score a batch after the batches before it: resolves to (flag futures, flags).

        ``scorer`` None: no model loaded, the audit rules alone flag."""
        features = asyncio.ensure_future(self._features(scorer, claims, self._last_stage1))
        self._last_stage1 = features
        return asyncio.ensure_future(self._flag(scorer, features))

    async def quiet(self) -> None:
        """Wait until every submitted batch's features are computed (the memory is still)."""
        if self._last_stage1 is not None:
            await asyncio.shield(self._last_stage1)

    def then(self, task: asyncio.Future[Any]) -> None:
        """Make the next batch's features wait for ``task`` (a snapshot pickling the memory)."""
        self._last_stage1 = task

    def _stage1(self, scorer: Any | None, claims: list[Any]) -> _Stage1:
        # The rules first: their windows must learn the batch even if features fail.
        cpu = self.metrics.stage_cpu
        started = time.thread_time()
        hits = self.audit.check(claims) if self.audit is not None else None
        ruled = time.thread_time()
        if hits is not None:
            cpu.labels("rules").inc(ruled - started)
        feats = None
        if scorer is not None:
            try:
                feats = scorer.features(claims)
            except Exception:
                # The model's flags of the batch are lost (logged, counted); its
                # certain rule hits still flag.
                log.exception("computing features failed; batch settled without model flags")
                self.metrics.scoring_errors.inc()
            cpu.labels("features").inc(time.thread_time() - ruled)
        return _Stage1(claims, feats, hits)

    async def _features(self, scorer: Any | None, claims: list[Any], previous: Any) -> Any:
        """Stage 1, after the previous batch's: the batch's features and rule hits, or None."""
        if previous is not None:
            await asyncio.shield(previous)
        try:
            return await asyncio.to_thread(self._stage1, scorer, claims)
        except Exception:
            # Settling is the duty; a scoring fault must not stop it (nor loop on
            # redelivery). A fault of the rules loses the batch's flags, counted.
            log.exception("checking audit rules failed; batch settled without flags")
            self.metrics.scoring_errors.inc()
            return None

    async def _flag(self, scorer: Any | None, features: Any) -> tuple[list[Any], int]:
        """Stage 2: score the featurized batch and send its flags: (futures, flags)."""
        stage = await asyncio.shield(features)
        if stage is None:
            return [], 0
        scores: list[dict[str, Any]] = []
        batch = stage.feats
        if scorer is not None and batch is not None:
            try:
                scores = await asyncio.to_thread(self._model, scorer, batch)
            except Exception:
                log.exception("scoring failed; batch settled without model flags")
                self.metrics.scoring_errors.inc()
                batch = None
        if scorer is not None and batch is not None:
            self.metrics.scored.labels(scorer.version).inc(len(batch.facts))
            self._count_flags(scorer, len(batch.facts), len(scores))  # the model's own rate
            self.metrics.feature_claims.set(scorer.feature_state.claims_seen)
        if stage.hits is not None:
            version = scorer.version if scorer is not None else "none"
            scores = merge_flags(stage.claims, stage.hits, scores, version)
        for score in scores:
            self.outbox.add(FRAUD_FLAGS, score["claim_id"].encode(), encode_record_bytes(score))
        return await self.outbox.flush(), len(scores)

    def _model(self, scorer: Any, batch: Any) -> list[dict[str, Any]]:
        """Stage 2's work on its thread, its CPU counted (LightGBM's own threads are not)."""
        started = time.thread_time()
        try:
            flags: list[dict[str, Any]] = scorer.flags(batch)
            return flags
        finally:
            self.metrics.stage_cpu.labels("model").inc(time.thread_time() - started)

    def _count_flags(self, scorer: Any, scored: int, flagged: int) -> None:
        """The live flag rate against the model's capacity (warns when it strays)."""
        if scorer.version != self._rate_version:  # another model, another threshold
            self.flag_rate.reset()
            self._rate_version = scorer.version
        self.metrics.flagged.labels(scorer.version).inc(flagged)
        capacity = getattr(getattr(scorer, "model", None), "capacity", None)
        self.flag_rate.observe(scored, flagged, capacity)
        if self.flag_rate.rate is not None:
            self.metrics.flag_rate.set(self.flag_rate.rate)


@dataclass
class _Stage1:
    """A batch after stage 1: its claims, features (None: no model) and hits (None: no rules)."""

    claims: list[Any]
    feats: Any
    hits: list[list[RuleHit]] | None
