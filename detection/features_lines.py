"""Line features: a bill's unit prices and quantities against the same item codes
elsewhere, and items unusual for the diagnosis.

Prices and quantities are compared in logs, per item code: at the hospital's
level and overall, at the hospital itself, and (quantities) for the diagnosis.
"""

from __future__ import annotations

import math
from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import slot
from detection.peers import Moments, shrunk_mean

UNUSUAL_CODE_SHARE = 0.05  # a code on fewer of a diagnosis's claims is unusual for it
MIN_DX_CLAIMS = 20  # claims of a diagnosis before its usual items are known

_FAMILY: Final = "lines"
_PRICE_VS_CODE_MAX: Final = slot("price_vs_code_max", _FAMILY)
_PRICE_VS_CODE_MEAN: Final = slot("price_vs_code_mean", _FAMILY)
_QUANTITY_VS_CODE: Final = slot("quantity_vs_code", _FAMILY)
_PRICE_VS_OWN_HOSPITAL_MAX: Final = slot("price_vs_own_hospital_max", _FAMILY)
_ITEMS_UNUSUAL_FOR_DX: Final = slot("items_unusual_for_dx", _FAMILY)


class CodeStats:
    """Log unit price and log quantity of one item code."""

    __slots__ = ("price", "quantity")

    def __init__(self) -> None:
        self.price = Moments()
        self.quantity = Moments()


class LineSeen:
    """What :meth:`LineFeatures.compute` found for one bill line, which ``learn`` then
    updates without looking it up again (None: not seen before this claim)."""

    __slots__ = ("by_dx", "coarse", "fine", "log_price", "log_qty", "own")

    def __init__(
        self,
        log_price: float,
        log_qty: float,
        fine: CodeStats | None,
        coarse: CodeStats | None,
        by_dx: Moments | None,
        own: Moments | None,
    ) -> None:
        self.log_price = log_price
        self.log_qty = log_qty
        self.fine = fine
        self.coarse = coarse
        self.by_dx = by_dx
        self.own = own


class LineCase:
    """The bill's amount-weighted mean deviations (logs), which the hospital rates learn,
    and what was found for each line (for :meth:`LineFeatures.learn`)."""

    def __init__(self, *, price_dev: float, qty_dev: float, seen: list[LineSeen]) -> None:
        self.price_dev = price_dev
        self.qty_dev = qty_dev
        self.seen = seen


class LineFeatures:
    """Item codes' prices and quantities, and which codes each diagnosis bills."""

    def __init__(self) -> None:
        self.codes: dict[str, CodeStats] = {}
        self.codes_by_level: dict[tuple[str, int], CodeStats] = {}
        self.hospital_codes: dict[tuple[str, str], Moments] = {}  # log unit price
        self.codes_by_dx: dict[tuple[str, str], Moments] = {}  # log quantity
        self.dx_codes: dict[tuple[str, str, str], int] = {}  # claims of a diagnosis with a code
        self.dx_claims: dict[tuple[str, str], int] = {}

    def compute(self, claim: ClaimFacts, dx: str, row: list[float]) -> LineCase:
        """Write the family's features into ``row``.

        In logs where a ratio (0 = typical; unseen codes count as typical): the
        largest unit-price deviation from other hospitals of the level, the
        amount-weighted mean price and quantity deviations (quantity against the
        same code for the same diagnosis where known), the largest price
        deviation from this hospital's own usual price for the code; and the
        amount share of lines whose code is unusual for the diagnosis.
        """
        level = claim.hospital_level
        hospital = claim.hospital_id
        dx_claims = self.dx_claims.get((dx, claim.claim_type), 0)
        worst = own_worst = 0.0
        price_sum = qty_sum = weight = unusual = 0.0
        found: list[LineSeen] = []
        for code, amount, qty in claim.lines:
            log_price = math.log(max(amount, 1) / qty)
            log_qty = math.log(qty)
            fine = self.codes_by_level.get((code, level))
            coarse = self.codes.get(code)
            by_dx = self.codes_by_dx.get((code, dx))
            coarse_p = coarse.price if coarse else None
            fine_p = fine.price if fine else None
            chain_q = [
                by_dx,
                fine.quantity if fine else None,
                coarse.quantity if coarse else None,
            ]
            typical = shrunk_mean([fine_p, coarse_p], log_price)
            dev = log_price - typical
            worst = max(worst, dev)
            own = self.hospital_codes.get((hospital, code))
            own_worst = max(own_worst, log_price - shrunk_mean([own, fine_p, coarse_p], log_price))
            found.append(LineSeen(log_price, log_qty, fine, coarse, by_dx, own))
            w = float(max(amount, 1))
            price_sum += w * dev
            qty_sum += w * (log_qty - shrunk_mean(chain_q, log_qty))
            weight += w
            if dx_claims >= MIN_DX_CLAIMS:
                seen = self.dx_codes.get((dx, claim.claim_type, code), 0)
                if seen < UNUSUAL_CODE_SHARE * dx_claims:
                    unusual += w
        price_dev = qty_dev = unusual_share = 0.0
        if weight == 0:
            worst = own_worst = 0.0
        else:
            price_dev, qty_dev, unusual_share = (
                price_sum / weight,
                qty_sum / weight,
                unusual / weight,
            )
        row[_PRICE_VS_CODE_MAX] = math.exp(worst)
        row[_PRICE_VS_CODE_MEAN] = math.exp(price_dev)
        row[_QUANTITY_VS_CODE] = math.exp(qty_dev)
        row[_PRICE_VS_OWN_HOSPITAL_MAX] = math.exp(own_worst)
        row[_ITEMS_UNUSUAL_FOR_DX] = unusual_share
        return LineCase(price_dev=price_dev, qty_dev=qty_dev, seen=found)

    def learn(self, claim: ClaimFacts, dx: str, case: LineCase) -> None:
        """Remember the bill's codes, prices and quantities.

        ``case`` is what :meth:`compute` returned for this claim just before: the
        statistics it found are updated in place, and only those it did not find
        are looked up again (an earlier line of the same bill may have made them).
        This halves the dictionary look-ups of the family, the fold's largest.
        """
        hospital = claim.hospital_id
        level = claim.hospital_level
        dx_key = (dx, claim.claim_type)
        self.dx_claims[dx_key] = self.dx_claims.get(dx_key, 0) + 1
        for code in {line[0] for line in claim.lines}:
            code_key = (dx, claim.claim_type, code)
            self.dx_codes[code_key] = self.dx_codes.get(code_key, 0) + 1
        for line, known in zip(claim.lines, case.seen, strict=True):
            code = line[0]
            log_price = known.log_price
            log_qty = known.log_qty
            own = known.own
            if own is None:
                own = self.hospital_codes.get((hospital, code))
                if own is None:
                    own = self.hospital_codes[(hospital, code)] = Moments()
            own.add(log_price)
            by_dx = known.by_dx
            if by_dx is None:
                by_dx = self.codes_by_dx.get((code, dx))
                if by_dx is None:
                    by_dx = self.codes_by_dx[(code, dx)] = Moments()
            by_dx.add(log_qty)
            coarse = known.coarse
            if coarse is None:
                coarse = self.codes.get(code) or self.codes.setdefault(code, CodeStats())
            fine = known.fine
            if fine is None:
                fine = self.codes_by_level.get((code, level)) or self.codes_by_level.setdefault(
                    (code, level), CodeStats()
                )
            for code_stats in (coarse, fine):
                code_stats.price.add(log_price)
                code_stats.quantity.add(log_qty)
