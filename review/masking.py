"""Masking on write: identity numbers hidden in whatever text a record brings.

The pages mask every value they render (review.templating); what is stored is
masked too, so a number typed into the wrong field (an item code, a hospital
id, a diagnosis, a rule's evidence) never reaches the database, the audit log
or an export in full.
"""

from __future__ import annotations

from typing import Any

from settlement.idnumber import mask_identity_numbers


def masked(value: Any, limit: int | None = None) -> Any:
    """A text field with any identity number in it masked (cut to ``limit``); else as given.

    A number typed into the wrong field (an item code, a hospital id, a
    diagnosis) is masked before it is stored, like the person's own.
    """
    if not isinstance(value, str):
        return value
    text = mask_identity_numbers(value)
    return text[:limit] if limit is not None else text


def mask_tree(value: Any) -> Any:
    """A JSON value with identity numbers masked in every string (and number) inside it."""
    if isinstance(value, str):
        return mask_identity_numbers(value)
    if isinstance(value, dict):
        return {key: mask_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_tree(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10**16:
        text = str(value)
        hidden = mask_identity_numbers(text)
        return hidden if hidden != text else value
    return value
