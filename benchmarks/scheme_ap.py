"""Average precision of a registered model per fraud scheme on a labelled claims file.

``yibao evaluate --json`` reports one claim PR-AUC over all schemes. This
script scores the same claims the same way (the settlement contract filters
them, the feature fold runs over them in event order) and reports, for each
``fraud_type``, the average precision of ranking that scheme's claims among
all honest claims (claims of the other schemes left out), plus the overall
AP. Run it after ``yibao train`` on one seed's claims, on another seed's::

    .venv/bin/yibao simulate --seed 3 --claims 100000 -o A.jsonl
    .venv/bin/yibao simulate --seed 4 --claims 100000 -o B.jsonl
    .venv/bin/yibao train --data A.jsonl --max-rounds 300
    .venv/bin/python benchmarks/scheme_ap.py --data B.jsonl --model models:/yibao-fraud/1

With ``--json`` it prints one JSON object instead of the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np


def scheme_ap(data: Path, model_uri: str) -> dict[str, object]:
    """Overall and per-scheme average precision of the model on ``data``."""
    from sklearn.metrics import average_precision_score

    from models.data import load_claims
    from models.matrix import featurize, labels_of
    from models.registry import load_model
    from models.tracking import configure_tracking
    from yibao.settings import get_settings

    configure_tracking(get_settings().tracking_uri())
    model = load_model(model_uri)
    loaded = load_claims(data)
    ordered, _feats, X = featurize(loaded.facts, period=True)
    y = labels_of(ordered)
    scores = model.predict(X)
    types = np.array([f.fraud_type or "" for f in ordered], dtype=object)
    honest = y == 0
    per_scheme: dict[str, dict[str, float | int]] = {}
    for scheme, n in sorted(Counter(t for t in types if t).items()):
        mask = honest | (types == scheme)
        ap = average_precision_score((types[mask] == scheme).astype(int), scores[mask])
        per_scheme[scheme] = {"claims": int(n), "ap": float(ap)}
    return {
        "model": model.label,
        "feature_version": model.feature_version,
        "claims": len(y),
        "fraud_claims": int(y.sum()),
        "overall_ap": float(average_precision_score(y, scores)) if 0 < y.sum() < len(y) else None,
        "schemes": per_scheme,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="labelled claims JSONL")
    parser.add_argument("--model", required=True, help="model URI, e.g. models:/yibao-fraud/1")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = scheme_ap(args.data, args.model)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    print(
        f"{result['model']} (features v{result['feature_version']}) on {args.data}: "
        f"{result['claims']} claims, {result['fraud_claims']} fraud, "
        f"overall AP {result['overall_ap']:.4f}"
    )
    print(f"{'scheme':<26}{'claims':>8}{'AP':>9}")
    schemes = result["schemes"]
    assert isinstance(schemes, dict)
    for scheme, row in schemes.items():
        print(f"{scheme:<26}{row['claims']:>8}{row['ap']:>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
