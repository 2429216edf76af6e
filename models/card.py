"""The model card of a training run: what the model was trained on, how it does, what it cannot do.

Logged as ``model_card.md`` with every training run, beside the calibration
curve and the precision-recall curve of the untouched hospitals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from detection.features import FEATURE_NAMES, FEATURE_VERSION

if TYPE_CHECKING:
    from models.runlog import RunRecord

LIMITS = (
    "Trained and measured on labelled claims only; labels are what the data file "
    "(or clerks' decisions) say, and fraud nobody has labelled is learnt as honest.",
    "Scores are calibrated on the training run's validation hospitals: a probability "
    "holds for data like the training data; `yibao models drift` says when it is not.",
    "The threshold flags the capacity share of new claims like the training data's; "
    "the stream warns when its live flag rate leaves capacity plus or minus one point.",
    "Claims the model was trained on must be scored with `yibao score --cross-fit`, "
    "or their scores are optimistic.",
    "A fraud scheme with few claims in the untouched hospitals has a noisy average "
    "precision below (see its claim count).",
)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def model_card(record: RunRecord, schemes: dict[str, dict[str, Any]]) -> str:
    """Markdown: data, period, features, calibration, metrics overall and per scheme, limits.

    Args:
        record: the training run's record.
        schemes: :func:`models.metrics.scheme_metrics` on the untouched hospitals.
    """
    m = record.metrics
    first, last = record.period
    lines = [
        f"# Model card: {record.run_name(int(record.settings.get('split_seed', 0)))}",
        "",
        "## Data",
        f"- file: `{record.data.name}`, fingerprint `{record.loaded.fingerprint}`",
        f"- period: {first.isoformat()} to {last.isoformat()}",
        f"- claims: {record.settings.get('claims')}, fraud: {record.settings.get('fraud_claims')}, "
        f"untouched (never fitted on): {record.settings.get('untouched_claims')}",
        f"- features: version {FEATURE_VERSION}, {len(FEATURE_NAMES)} features",
        "",
        "## Scores and threshold",
        f"- calibration: {record.calibration or 'none'}",
        f"- threshold {record.threshold:.4f} for capacity {record.capacity:.2%}; on the untouched "
        f"hospitals it flags {_num(m.get('test_flagged_share'))}, calibration error "
        f"(ECE, 10 bins) {_num(m.get('test_ece'))}",
        "",
        "## Metrics on the untouched hospitals",
        "| metric | model | rules only |",
        "|---|---|---|",
    ]
    for key in ("claim_pr_auc", "claim_roc_auc", "hospital_precision_at_10", "recall_at_capacity"):
        lines.append(
            f"| {key} | {_num(m.get('test_' + key))} | {_num(m.get('test_rules_only_' + key))} |"
        )
    lines += ["", "## Per fraud scheme (untouched hospitals)", "| scheme | claims | AP |"]
    lines.append("|---|---|---|")
    for scheme, row in sorted(schemes.items()):
        lines.append(f"| {scheme} | {row['claims']} | {_num(row['ap'])} |")
    lines += ["", "## Known limits", *(f"- {text}" for text in LIMITS), ""]
    return "\n".join(lines)


def calibration_figure(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> Any:
    """Reliability diagram: mean score against fraud rate per score bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    which = np.minimum((np.clip(scores, 0, 1) * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    kept = counts > 0
    mean_score = np.bincount(which, weights=scores, minlength=bins)[kept] / counts[kept]
    rate = np.bincount(which, weights=labels.astype(float), minlength=bins)[kept] / counts[kept]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot(mean_score, rate, marker="o", label="model")
    ax.set_xlabel("mean calibrated score")
    ax.set_ylabel("fraud rate")
    ax.set_title("Calibration on untouched hospitals")
    ax.legend()
    fig.tight_layout()
    return fig
