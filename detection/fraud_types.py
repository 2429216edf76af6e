"""The fraud types: the simulator's schemes, the labels training learns, the review app's choices.

One list so that a label a clerk gives in the review app (exported by
``yibao labels export``) names a scheme the simulator generates and the model
was trained on. Plain constants: nothing here is compiled or imports anything.
"""

from __future__ import annotations

# Schemes that game item-by-item billing (the simulator shares ``fraud_rate`` among them).
ITEM_SCHEMES: tuple[str, ...] = (
    "decomposed_admission",
    "hanging_bed",
    "upcoding",
    "item_substitution",
    "template_billing",
    "ghost_patient",
    "duplicate_billing",
)
# Schemes that game DIP points (shared/spec/dip.md; the simulator's ``dip_fraud_rate``).
DIP_SCHEMES: tuple[str, ...] = ("high_coding", "low_threshold_admission")
FRAUD_SCHEMES: tuple[str, ...] = ITEM_SCHEMES + DIP_SCHEMES
#: A confirmed fraud that fits none of the schemes (offered by the review app).
OTHER_FRAUD_TYPE = "other"
