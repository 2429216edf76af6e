"""Errors raised by the detection core.

Tree::

    DetectionError
    ├── FeatureSchemaError   a feature vector or model does not match FEATURE_NAMES
    ├── FeatureLayoutError   the feature families do not compute every name exactly once
    ├── ClaimFactsError      a claim lacks what the features need
    └── RuleBookError        a rule or knowledge table is broken (file, line, field, problem)
"""

from __future__ import annotations


class DetectionError(Exception):
    """Base class of every detection error."""


class FeatureSchemaError(DetectionError):
    """A model or feature vector does not match the features this code computes."""


class FeatureLayoutError(DetectionError):
    """The feature families and FEATURE_NAMES disagree: a name computed by no family,
    by several, or a family computing a name that is not a feature."""


class ClaimFactsError(DetectionError):
    """A claim cannot be reduced to the facts the features need."""


class RuleBookError(DetectionError):
    """A rule catalogue file is broken; the message names file, line, field and problem."""
