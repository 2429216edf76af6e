"""Case-mix features: how often a hospital sees a diagnosis, against its peers.

A hospital that books far more of one diagnosis (category or exact code) than
hospitals of its level do, for the same claim type, may be coding into it.
"""

from __future__ import annotations

from typing import Final

from detection.facts import ClaimFacts
from detection.feature_names import slot

_FAMILY: Final = "casemix"
_DX_SHARE_VS_PEER: Final = slot("dx_share_vs_peer", _FAMILY)
_DX_CODE_SHARE_VS_PEER: Final = slot("dx_code_share_vs_peer", _FAMILY)


class CaseMixFeatures:
    """Claims per hospital and per level, by claim type and by diagnosis."""

    def __init__(self) -> None:
        self.hospital_type: dict[tuple[str, str], int] = {}
        self.hospital_dx: dict[tuple[str, str, str], int] = {}  # (hospital, category, type)
        self.peer_dx: dict[tuple[int, str, str], int] = {}  # (level, category, type)
        self.peer_type: dict[tuple[int, str], int] = {}
        self.hospital_dx_code: dict[tuple[str, str, str], int] = {}  # (hospital, code, type)
        self.peer_dx_code: dict[tuple[int, str, str], int] = {}

    def compute(self, claim: ClaimFacts, dx: str, row: list[float]) -> int:
        """Write the family's features into ``row``; return the hospital's past claims
        of the claim's diagnosis category and type (the bills family reads it)."""
        level = claim.hospital_level
        h_type = self.hospital_type.get((claim.hospital_id, claim.claim_type), 0)
        h_dx = self.hospital_dx.get((claim.hospital_id, dx, claim.claim_type), 0)
        p_dx = self.peer_dx.get((level, dx, claim.claim_type), 0)
        p_type = self.peer_type.get((level, claim.claim_type), 0)
        peer_share = (p_dx + 1.0) / (p_type + 20.0)
        code_key = (claim.hospital_id, claim.diagnosis, claim.claim_type)
        h_code = self.hospital_dx_code.get(code_key, 0)
        p_code = self.peer_dx_code.get((level, claim.diagnosis, claim.claim_type), 0)
        peer_code_share = (p_code + 1.0) / (p_type + 20.0)
        row[_DX_SHARE_VS_PEER] = (h_dx + 10.0 * peer_share) / (h_type + 10.0) / peer_share
        row[_DX_CODE_SHARE_VS_PEER] = (
            (h_code + 10.0 * peer_code_share) / (h_type + 10.0) / peer_code_share
        )
        return h_dx

    def learn(self, claim: ClaimFacts, dx: str) -> None:
        """Count the claim."""
        hospital = claim.hospital_id
        level = claim.hospital_level
        type_key = (hospital, claim.claim_type)
        self.hospital_type[type_key] = self.hospital_type.get(type_key, 0) + 1
        dx_key = (hospital, dx, claim.claim_type)
        self.hospital_dx[dx_key] = self.hospital_dx.get(dx_key, 0) + 1
        peer_key = (level, dx, claim.claim_type)
        self.peer_dx[peer_key] = self.peer_dx.get(peer_key, 0) + 1
        peer_type = (level, claim.claim_type)
        self.peer_type[peer_type] = self.peer_type.get(peer_type, 0) + 1
        code_key = (hospital, claim.diagnosis, claim.claim_type)
        self.hospital_dx_code[code_key] = self.hospital_dx_code.get(code_key, 0) + 1
        peer_code = (level, claim.diagnosis, claim.claim_type)
        self.peer_dx_code[peer_code] = self.peer_dx_code.get(peer_code, 0) + 1
