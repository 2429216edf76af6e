"""The claim vocabulary of spec section 2: schemes, claim types, hospital levels, LTC settings.

Defined once here; the claim parser, the policies, the settlement state, DIP
and the review app take them from this module. Tuples, not sets: ``[] in a_set``
raises TypeError, and a claim whose field holds a list must be rejected, never
crash the run.
"""

from __future__ import annotations

#: Insurance schemes (``patient.scheme``).
SCHEMES = ("employee", "resident")
#: Claim types (``claim_type``).
CLAIM_TYPES = ("inpatient", "outpatient", "ltc")
#: Hospital levels (``hospital.level``).
HOSPITAL_LEVELS = (1, 2, 3)
#: Long-term-care settings (``ltc.setting``).
LTC_SETTINGS = ("institutional", "home")
