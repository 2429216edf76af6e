"""Shared fixtures of the behavioural model tests: a small world and a quick model."""

from __future__ import annotations

import pytest

from tests.claimgen import generate
from tests.model.facts import facts_of


@pytest.fixture(scope="session")
def world() -> list[dict]:
    return generate(seed=5, claims=4000, hospitals=40, fraud_hospitals=8)


@pytest.fixture(scope="session")
def quick_model(world: list[dict]):
    """A LightGBM model trained in a few seconds, without MLflow."""
    from models.matrix import featurize, labels_of
    from models.registry import LoadedModel
    from models.train import fit_booster, split_by_hospital

    ordered, _, X = featurize(facts_of(world))
    y = labels_of(ordered)
    tr, va = split_by_hospital([f.hospital_id for f in ordered], 0.25, 1)
    booster = fit_booster(X[tr], y[tr], X[va], y[va], rounds=80, early_stopping=20)
    return LoadedModel(
        booster=booster, threshold=0.5, label="test/1", run_id=None, feature_version="test"
    )
