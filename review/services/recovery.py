"""The amount recovered (追回金额) with a confirmed-fraud decision: parsing and its limit.

The form takes yuan; storage holds integer fen. The limit is the claim's
amount at stake: what the fund paid for it (the settlement's ``fund_pay``),
because a recovery takes back fund money paid out wrongly. A claim whose
settlement record is not loaded has its total as the limit (the fund never
pays more than the total); a rejected or duplicate claim paid nothing and is
not decidable anyway. Fines on top of a recovery are not recorded here.
"""

from __future__ import annotations

from review.errors import InvalidInput
from review.i18n import N_, Msg
from settlement.money import AmountError, format_fen, parse_yuan_text

#: Settlement statuses that paid nothing.
UNPAID_STATUSES = ("rejected", "duplicate")


def parse_recovered_yuan(text: str | None) -> int | None:
    """A recovered amount typed in yuan (``"1234.5"``) as fen; None when left empty.

    Raises:
        InvalidInput: not a non-negative number with at most two decimals.
    """
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return parse_yuan_text(text)
    except AmountError as exc:
        raise InvalidInput(
            Msg(N_("amount recovered: {problem} (yuan, e.g. 1234.50)"), problem=str(exc))
        ) from exc


def amount_at_stake(
    total_fen: int | None, settlement_status: str | None, fund_pay_fen: int | None
) -> int:
    """What the fund stands to recover on a claim, in fen (see the module docstring)."""
    if settlement_status in UNPAID_STATUSES:
        return 0
    if settlement_status is not None and fund_pay_fen is not None:
        return int(fund_pay_fen)
    return int(total_fen or 0)


def check_recovered(recovered_fen: int, at_stake_fen: int) -> int:
    """``recovered_fen`` when it is between 0 and the amount at stake.

    Raises:
        InvalidInput: negative, or more than the amount at stake (both named in yuan).
    """
    if recovered_fen < 0:
        raise InvalidInput(N_("amount recovered cannot be negative"))
    if recovered_fen > at_stake_fen:
        raise InvalidInput(
            Msg(
                N_(
                    "amount recovered {recovered} yuan is more than the "
                    "{at_stake} yuan at stake on this claim (what the fund paid)"
                ),
                recovered=format_fen(recovered_fen),
                at_stake=format_fen(at_stake_fen),
            )
        )
    return recovered_fen
