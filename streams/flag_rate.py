"""The live flag rate over a window of recent claims, against the clerks' capacity.

The threshold stored with a model was chosen to flag ``capacity`` of new claims;
when the live share drifts out of ``capacity`` plus or minus one point the data
no longer looks like the training data (or the model is wrong), and the worker
says so once per excursion.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

WINDOW_CLAIMS = 5_000  # a window of claims, not of time: a quiet hour does not empty it
TOLERANCE = 0.01  # one percentage point either side of the capacity


@dataclass
class FlagRateWindow:
    """Scored and flagged claims of the last ``window`` claims (whole batches).

    Args:
        window: claims the rate is measured over; no warning until it is full.
        tolerance: how far the rate may stray from the capacity before a warning.
    """

    window: int = WINDOW_CLAIMS
    tolerance: float = TOLERANCE
    _batches: deque[tuple[int, int]] = field(default_factory=deque)
    _scored: int = 0
    _flagged: int = 0
    _outside: bool = False

    @property
    def rate(self) -> float | None:
        """The flagged share over the window; None before any claim is scored."""
        return self._flagged / self._scored if self._scored else None

    def observe(self, scored: int, flagged: int, capacity: float | None) -> bool:
        """Count one scored batch; True when the rate has just left the band (warned).

        Args:
            scored: claims scored in the batch.
            flagged: of them, flagged.
            capacity: the model's configured flag share (None: not known, no check).
        """
        self._batches.append((scored, flagged))
        self._scored += scored
        self._flagged += flagged
        while len(self._batches) > 1 and self._scored - self._batches[0][0] >= self.window:
            old_scored, old_flagged = self._batches.popleft()
            self._scored -= old_scored
            self._flagged -= old_flagged
        rate = self.rate
        if capacity is None or rate is None or self._scored < self.window:
            return False
        outside = abs(rate - capacity) > self.tolerance
        left = outside and not self._outside
        self._outside = outside
        if left:
            log.warning(
                "live flag rate %.2f%% over the last %d claims is outside capacity %.2f%% "
                "plus or minus %.0f point(s); check the data for drift or retrain",
                100 * rate,
                self._scored,
                100 * capacity,
                100 * self.tolerance,
                extra={"flag_rate": rate, "capacity": capacity, "window_claims": self._scored},
            )
        return left

    def reset(self) -> None:
        """Forget the window (a new model: its threshold is another one)."""
        self._batches.clear()
        self._scored = self._flagged = 0
        self._outside = False
