"""The bill lines of a claim: :class:`Item` and their validation (spec sections 1, 2 and 5).

Most lines are plain (a code, A/B/C, an amount such as ``"12.50"``) and are
taken by a fast check; any other line gets the full checks, which are the
reference and record every issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from settlement.claim_fields import Issues, json_integer, kind_of, shown_value, text_field
from settlement.errors import INVALID_AMOUNT, INVALID_ITEMS, MALFORMED
from settlement.money import MAX_AMOUNT_FEN, AmountError, JsonNumber, parse_amount

# Tuples, not sets: `[] in a_set` raises TypeError, and a claim whose field
# holds a list must be rejected, never crash the run.
CATEGORIES = ("A", "B", "C")
#: The most items one claim may list; more is ``malformed`` (a real bill has
#: tens to a few thousand lines, and the line-size limit bounds them anyway).
MAX_ITEMS = 10_000


@dataclass(slots=True)
class Item:
    """One bill line: the hospital's code, its catalogue category and amount."""

    code: str
    category: str
    amount_fen: int
    quantity: int | None = None


def read_items(obj: dict[str, Any], issues: Issues) -> list[Item] | None:
    raw_items = obj.get("items")
    if not isinstance(raw_items, list):
        issues.add(
            MALFORMED,
            "items is required but missing"
            if "items" not in obj
            else f"items must be an array, got {kind_of(raw_items)}",
        )
        return None
    if not raw_items:
        issues.add(INVALID_ITEMS, "a claim needs at least one item")
        return None
    if len(raw_items) > MAX_ITEMS:
        issues.add(
            MALFORMED, f"items holds {len(raw_items)} entries; at most {MAX_ITEMS} are allowed"
        )
        return None
    items: list[Item] = []
    valid = True
    for index, raw in enumerate(raw_items):
        item = _plain_item(raw)
        if item is not None:
            items.append(item)
        elif not _full_item_check(raw, index, issues, items):
            valid = False
    return items if valid else None


def _plain_item(raw: Any) -> Item | None:
    """The usual well-formed line, checked fast; None = take the full checks (the reference)."""
    if type(raw) is not dict:
        return None
    amount_fen = fast_amount(raw.get("amount"))
    if amount_fen is None:
        return None
    code = raw.get("code")
    category = raw.get("category")
    quantity = raw.get("quantity")
    if type(code) is not str or not 0 < len(code) <= 64:
        return None
    if type(category) is not str or category not in CATEGORIES:
        return None
    if type(quantity) is int and quantity >= 1:
        return Item(code, category, amount_fen, quantity)
    if "quantity" not in raw:
        return Item(code, category, amount_fen, None)
    return None


def fast_amount(value: Any) -> int | None:
    """Fen for a plain, valid amount (``12``, ``12.5``, ``"12.50"``); None = take the full check.

    The one fast amount parse (every item goes through it); anything unusual,
    such as an exponent, a sign or a third decimal, is left to :func:`parse_amount`.
    """
    kind = type(value)
    if kind is JsonNumber or kind is str:
        text: str = value
        whole, dot, frac = text.partition(".")
        if (
            len(frac) <= 2
            and len(whole) <= 8  # longer is over the maximum, or needs the full check
            and (frac or not dot)
            and whole.isascii()
            and whole.isdigit()
            and (not frac or (frac.isascii() and frac.isdigit()))
        ):
            fen = int(whole) * 100 + (int(frac) * 10 if len(frac) == 1 else int(frac or "0"))
            if fen <= MAX_AMOUNT_FEN:
                return fen
    elif kind is int:
        whole_yuan: int = value
        if 0 <= whole_yuan <= MAX_AMOUNT_FEN // 100:
            return whole_yuan * 100
    return None


def _full_item_check(raw: Any, index: int, issues: Issues, items: list[Item]) -> bool:
    """Check one item in full, recording every issue; append it when valid."""
    where = f"items[{index}]."
    if not isinstance(raw, dict):
        issues.add(MALFORMED, f"items[{index}] must be an object, got {kind_of(raw)}")
        return False
    code = text_field(raw, "code", where, issues)
    if code is not None and not 1 <= len(code) <= 64:
        issues.add(MALFORMED, f"{where}code must be 1 to 64 characters")
        code = None
    category = text_field(raw, "category", where, issues)
    if category is not None and category not in CATEGORIES:
        issues.add(INVALID_ITEMS, f"{where}category {shown_value(category)} is not A, B or C")
        category = None
    amount_fen: int | None = None
    if "amount" not in raw:
        issues.add(MALFORMED, f"{where}amount is required but missing")
    else:
        amount = raw["amount"]
        try:
            amount_fen = parse_amount(amount)
        except AmountError as exc:
            issues.add(INVALID_AMOUNT, f"{where}amount {exc}")
        except TypeError:
            issues.add(
                MALFORMED, f"{where}amount must be a number or a string, got {kind_of(amount)}"
            )
    quantity: int | None = None
    quantity_ok = True
    if "quantity" in raw:
        quantity = json_integer(raw["quantity"])
        if quantity is None:
            issues.add(
                MALFORMED,
                f"{where}quantity must be a whole number, got {shown_value(raw['quantity'])}",
            )
            quantity_ok = False
        elif quantity < 1:
            issues.add(INVALID_ITEMS, f"{where}quantity {quantity} is less than 1")
            quantity, quantity_ok = None, False
    if code is None or category is None or amount_fen is None or not quantity_ok:
        return False
    items.append(Item(code, category, amount_fen, quantity))
    return True
