"""Errors of the model lifecycle.

Tree::

    ModelError          a model, version or its metadata is missing or unusable
    └── PromotionRefused  a challenger does not beat the champion
    TrainingDataError   the training data cannot train a model (no labels, one class)
    ClusterError        the Dask cluster cannot be reached, has no workers, or a task failed
"""

from __future__ import annotations


class ModelError(Exception):
    """A model, version or its metadata is missing or unusable."""


class PromotionRefused(ModelError):
    """The candidate does not beat the champion on the same held-out data."""


class TrainingDataError(Exception):
    """The data cannot train a model: too few claims, or only one class."""


class ClusterError(Exception):
    """The Dask cluster cannot be reached, has no workers, or a task on it failed."""
