"""Errors raised by the detection core.

Tree::

    DetectionError
    ├── FeatureSchemaError   a feature vector or model does not match FEATURE_NAMES
    ├── ClaimFactsError      a claim lacks what the features need
    └── RuleBookError        a rule or knowledge table is broken (file, line, field, problem)
"""

from __future__ import annotations


class DetectionError(Exception):
    """Base class of every detection error."""


class FeatureSchemaError(DetectionError):
    """A model or feature vector does not match the features this code computes."""


class ClaimFactsError(DetectionError):
    """A claim cannot be reduced to the facts the features need."""


class RuleBookError(DetectionError):
    """A rule catalogue file is broken; the message names file, line, field and problem."""
