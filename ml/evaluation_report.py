"""The evaluation report of a model version (Markdown + PNG plots) and the one-line-per-model run summary.

The report holds no wall-clock values, so the same data, seed and configuration give the same ``report.md``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from ml.evaluate import MAIN_METRIC, METRIC_LABELS, calibration_curve, lift_curve
from ml.features import Feature

DESCRIPTIONS = {
    "churn_risk": "Probability that a customer with at least one completed order makes no completed order in the "
    "{h} days from the as-of date.",
    "next_purchase": "Days to the customer's next completed order (XGBoost `survival:aft`, log-normal, right-censored "
    "labels): the predicted median in days and P(order within 14 / 30 days).",
    "value_90d": "Expected completed-order revenue in the {h} days from the as-of date (XGBoost `reg:tweedie`).",
    "next_purchase_category": "Days to the next purchase in a consumable category the customer has bought before "
    "(customer x category, `survival:aft`): predicted median days and P(purchase within 7 / 14 days).",
}
METHOD_LABELS = {
    "xgboost": "XGBoost (this version)",
    "xgboost_with_bgnbd": "XGBoost with BG/NBD features",
    "xgboost_without_bgnbd": "XGBoost without BG/NBD features",
    "recency": "Recency only",
    "rfm": "RFM cells (5x5x5)",
    "bgnbd": "BG/NBD (x Gamma-Gamma spend for value)",
    "bgnbd_p_alive": "BG/NBD P(alive)",
    "rules": "Rules (cold-start fallback)",
}
COLUMNS = {
    "churn_risk": ["roc_auc", "pr_auc", "top_decile_lift", "top_decile_capture", "brier"],
    "next_purchase": ["c_index", "median_abs_error_days", "auc_order_14d", "auc_order_30d", "brier_order_30d"],
    "next_purchase_category": ["c_index", "median_abs_error_days", "auc_order_7d", "auc_order_14d", "brier_order_14d"],
    "value_90d": ["spearman", "top_decile_revenue_capture", "auc_any_purchase"],
}


def _binary_view(model: str, frame: pd.DataFrame, out: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, str]:
    """A 0/1 outcome and a score for ROC, calibration and lift plots."""
    if model == "churn_risk":
        return frame["label_churn"].to_numpy(float), out["p"], "churned (no order in the horizon)"
    if model == "value_90d":
        return (frame["label_revenue"].to_numpy(float) > 0).astype(float), out["value"], "ordered in the horizon"
    window = 30 if model == "next_purchase" else 14
    time_ = frame["label_time"].to_numpy(float)
    event = frame["label_event"].to_numpy(bool)
    known = (event & (time_ <= window)) | (time_ >= window)
    y = (event & (time_ <= window))[known].astype(float)
    return y, out[f"p_{window}d"][known], f"ordered within {window} days"


def _plot_roc(path: Path, model: str, frame: pd.DataFrame, preds: dict[str, dict]) -> None:
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, out in preds.items():
        y, score, what = _binary_view(model, frame, out)
        if 0 < y.mean() < 1:
            fpr, tpr, _ = roc_curve(y, score)
            ax.plot(fpr, tpr, label=METHOD_LABELS.get(name, name), lw=2 if name == "xgboost" else 1)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{model}: ROC ({what})")
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)


def _plot_calibration(path: Path, model: str, frame: pd.DataFrame, preds: dict[str, dict]) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    if model == "value_90d":
        actual = frame["label_revenue"].to_numpy(float)
        for name, out in preds.items():
            points = calibration_curve(actual, out["value"])
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=METHOD_LABELS.get(name, name))
        top = max(actual.mean() * 4, 1.0)
        ax.plot([0, top], [0, top], ls=":", c="grey")
        ax.set(xlabel="mean predicted revenue (decile)", ylabel="mean actual revenue", title=f"{model}: calibration")
    else:
        for name, out in preds.items():
            y, score, what = _binary_view(model, frame, out)
            points = calibration_curve(y, score)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=METHOD_LABELS.get(name, name))
        ax.plot([0, 1], [0, 1], ls=":", c="grey")
        ax.set(
            xlabel="mean predicted probability (decile)", ylabel="observed rate", title=f"{model}: calibration ({what})"
        )
    ax.legend(fontsize=8)
    _save(fig, path)


def _plot_lift(path: Path, model: str, frame: pd.DataFrame, preds: dict[str, dict]) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, out in preds.items():
        if model == "value_90d":
            y, score, what = frame["label_revenue"].to_numpy(float), out["value"], "revenue captured"
        else:
            y, score, what = _binary_view(model, frame, out)
            what = f"share of '{what}' captured"
        curve = [(0.0, 0.0), *lift_curve(y, score)]
        ax.plot([c[0] for c in curve], [c[1] for c in curve], label=METHOD_LABELS.get(name, name))
    ax.plot([0, 1], [0, 1], ls=":", c="grey", label="random")
    ax.axvline(0.1, c="grey", lw=0.5)
    ax.set(xlabel="share of customers targeted (highest scores first)", ylabel=what, title=f"{model}: cumulative gain")
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)


def _plot_importance(path: Path, model: str, booster: Any, top: int = 20) -> list[tuple[str, float]]:
    import matplotlib.pyplot as plt

    gain = booster.get_score(importance_type="total_gain")
    total = sum(gain.values()) or 1.0
    ranked = sorted(((k, v / total) for k, v in gain.items()), key=lambda kv: (-kv[1], kv[0]))[:top]
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(ranked) + 1.2))
    ax.barh([k for k, _ in ranked][::-1], [v for _, v in ranked][::-1])
    ax.set(xlabel="share of total gain", title=f"{model}: feature importance (gain)")
    _save(fig, path)
    return ranked


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def _method(name: str) -> str:
    return METHOD_LABELS.get(name, name)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _results_table(model: str, results: dict[str, dict], feature_set: str) -> list[str]:
    columns = COLUMNS[model]
    header = "| method | " + " | ".join(METRIC_LABELS.get(c, c) for c in columns) + " | rows |"
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for name, metrics in results.items():
        label = METHOD_LABELS.get(name, name)
        if name == "xgboost":
            label = f"**XGBoost, this version ({feature_set.replace('_', ' ')})**"
        cells = " | ".join(_fmt(metrics.get(c)) for c in columns)
        lines.append(f"| {label} | {cells} | {metrics.get('n', '')} |")
    return lines


def write_report(
    folder: Path,
    model: str,
    version: str,
    metadata: dict[str, Any],
    metrics: dict[str, Any],
    frame: pd.DataFrame,
    preds: dict[str, dict],
    booster: Any,
    spec: list[Feature],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    _plot_roc(folder / "roc.png", model, frame, preds)
    _plot_calibration(folder / "calibration.png", model, frame, preds)
    _plot_lift(folder / "lift.png", model, frame, preds)
    ranked = _plot_importance(folder / "importance.png", model, booster)
    (folder / "report.md").write_text("\n".join(_markdown(model, version, metadata, metrics, ranked, spec)) + "\n")


def _markdown(model: str, version: str, meta: dict, metrics: dict, ranked: list, spec: list[Feature]) -> list[str]:
    window = meta["training_window"]
    comparison = metrics["comparison"]
    notes = metrics["notes"]
    main = MAIN_METRIC[model]
    beats = "yes" if comparison["beats_every_baseline"] else "**no**"
    n_derived = sum(f.source == "derived" for f in spec)
    lines = [
        f"# {model}, version {version}",
        "",
        DESCRIPTIONS[model].format(h=meta["horizon_days"]),
        "",
        "## Data and split (by time)",
        f"- Training cut-offs ({len(window['train_cutoffs'])}): {', '.join(window['train_cutoffs'])}; "
        f"{window['train_rows']:,} rows; labels observed until the evaluation cut-off.",
        f"- Evaluation cut-off: {window['eval_cutoff']}, later than every training cut-off; its labels are fully "
        f"observed (data through {date.fromisoformat(window['observed_until']) - timedelta(days=1)}); "
        f"{window['eval_rows']:,} rows.",
        f"- Validation cut-off (early stopping, feature-set choice): {window['validation_cutoff'] or 'none'}.",
        f"- Features: {len(spec)} ({len(spec) - n_derived} from the warehouse or order history, {n_derived} BG/NBD). "
        f"Feature set: {meta['feature_set'].replace('_', ' ')} ({meta['feature_set_reason']}).",
        f"- Trees: {meta['rounds']}"
        + (f"; AFT sigma {meta['aft_sigma']:.3f} (fitted on validation)" if meta.get("aft_sigma") else ""),
        f"- Data fingerprint: `{meta['data_fingerprint'][:16]}`; xgboost {meta['library_versions']['xgboost']}.",
        "",
        "## Held-out results on the evaluation cut-off",
        "",
        *_results_table(model, metrics["results"], meta["feature_set"]),
        "",
        f"Main metric: {METRIC_LABELS[main]}. XGBoost {_fmt(comparison['model'])} vs best baseline "
        f"{_method(comparison['best_baseline'])} {_fmt(comparison['baseline'])}: beats every baseline: {beats}.",
        "",
    ]
    params = ", ".join(f"{k}={v:.3g}" for k, v in notes.get("bgnbd_params", {}).items())
    lines += [f"BG/NBD baseline: {notes.get('bgnbd')}, fitted on the evaluation cut-off's history ({params}).", ""]
    lines += [
        "| ROC | Calibration | Cumulative gain | Feature importance |",
        "|---|---|---|---|",
        "| ![ROC](roc.png) | ![calibration](calibration.png) | ![lift](lift.png) | ![importance](importance.png) |",
        "",
        "## Top features (share of total gain)",
        "",
        *[f"{i + 1}. `{name}` {share:.1%}" for i, (name, share) in enumerate(ranked[:10])],
        "",
        "## How the comparison is made",
        "- Every method scores the same evaluation rows; baselines are fitted on the same training cut-offs.",
        "- Recency only: isotonic regression on days since the last purchase (churn, value) or Kaplan-Meier curves "
        "per recency decile (time to next order). RFM: quintile cells of recency, frequency and mean purchase value "
        "with cell rates shrunk towards the overall rate. Rules: the cold-start fallback, fitted on nothing.",
        "- BG/NBD features (P(alive), expected purchases in the horizon) are fitted by maximum likelihood on the "
        "history before each cut-off only (`ml/bgnbd.py`, scipy), both for training and for nightly scoring.",
    ]
    agreement = notes.get("reason_codes") or {}
    if agreement:
        lines.append(
            f"- Reason codes use XGBoost's fast path attribution (`approx_contribs`); on {agreement['rows']:,} "
            f"evaluation rows its top reason matches exact TreeSHAP in {agreement['top1_agreement']:.0%} of rows "
            f"(top-three overlap {agreement['top3_overlap']:.0%})."
        )
    return lines


def format_model_summary(conn: psycopg.Connection, run_date: date, table: str = "ml.scoring_runs") -> str:
    """One line per model for the run summary: version or rules (and why), main metric vs best baseline, rows."""
    schema, name = table.split(".", 1)
    exists = conn.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s", (schema, name)
    ).fetchone()
    if not exists:
        return "models: no scoring run recorded yet"
    rows = conn.execute(
        f"select model, model_version, method, fallback_reason, main_metric, metric_value, best_baseline, "
        f"baseline_value, rows_scored from {schema}.{name} where as_of_date = %s order by model",
        (run_date + timedelta(days=1),),
    ).fetchall()
    if not rows:
        return f"models: nothing scored as of {run_date + timedelta(days=1)}"
    lines = []
    for model, version, method, why, metric, value, baseline, base_value, count in rows:
        who = {"xgboost": version, "rules": "rules"}.get(method, f"{_method(method)} baseline")
        quality = (
            f"{METRIC_LABELS.get(metric, metric)} {value:.3f} vs {_method(baseline).replace(' (this version)', '')} "
            f"{base_value:.3f}"
            if method != "rules" and value is not None and base_value is not None
            else "no held-out metric"
        )
        lines.append(f"{model:<24} {who:<28} {quality:<55} {count:>10,} rows scored")
        if method == "rules":
            lines.append(f"{'':<24} why the rules: {why}")
        elif method != "xgboost":
            lines.append(f"{'':<24} why this baseline serves: {why}")
    return "\n".join(lines)
