"""Does the decision step's uplift learner rank customers by their real response to a contact?

    .venv/bin/python benchmarks/uplift_hillstrom.py [--source ../shared/data/hillstrom/hillstrom.csv.zip]
        [--test-share 0.3] [--boot 500] [--seed 7]          (make bench-uplift)

On Kevin Hillstrom's randomised e-mail test (examples/hillstrom): for each e-mail against no e-mail and for
visit and spend, a training split stratified on arm x outcome and a held-out split. Learners, all XGBoost with the
decision step's PARAMS, all fitted on the training split and scored on the held-out split:

- ``two_model``: the decision step's own learner, through ``uplift.fit_learner`` / ``uplift.predict_uplift``
  (the functions ``proactive_crm.actions.uplift.fit_two_model`` calls each night);
- ``class_transform``: one model of the transformed outcome (Athey & Imbens): z = y * (t / e - (1 - t) / (1 - e)),
  e the treated share, whose expectation given x is the uplift; for a 0/1 outcome with e = 1/2 this is the class
  transformation of Jaskowski & Jaroszewicz (2012) up to a linear map, so it ranks identically;
- ``x_learner`` (Kuenzel et al. 2019): the two models' imputed individual effects regressed on x per arm, blended
  by the treated share;
- ``response``: one model of the outcome on both arms, ignoring treatment (targets the likeliest visitors/spenders);
- ``random``: uniform random scores.

Held-out figures: Qini coefficient (``uplift.qini_coefficient``, 0 = random, 1 = perfect) and AUUC (area between
the uplift curve (mean_t - mean_c among the top k) x k and random, over the same for a perfect ranking), each with
a percentile bootstrap 95% interval over held-out rows; the uplift (treated mean - control mean) among the top
10/20/30% by score, against the average treatment effect (ATE) of the whole held-out split. Learners are compared
with the two-model learner pairwise: Qini(two_model) - Qini(other) on the same bootstrap resamples (an interval
above 0: two_model ranks better; below 0: the other does). ``guard``: the
production guard applied to the two-model learner on the training split alone (two random folds, out-of-fold
Qini, lower 95% bound above 0: the decision step would rank by uplift). Prints one markdown table per target.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from examples.hillstrom import data
from ml import uplift

TARGETS = ("visit", "spend")
TOP = (0.1, 0.2, 0.3)


def uplift_curve(y: np.ndarray, treated: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean_t(k) - mean_c(k)) * k for the top-k by score (0 where an arm is still empty)."""
    order = np.argsort(-score, kind="stable")
    y, treated = y[order].astype(float), treated[order].astype(bool)
    n_t, n_c = np.cumsum(treated), np.cumsum(~treated)
    y_t, y_c = np.cumsum(y * treated), np.cumsum(y * ~treated)
    k = np.arange(1, len(y) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        curve = np.where((n_t > 0) & (n_c > 0), (y_t / np.maximum(n_t, 1) - y_c / np.maximum(n_c, 1)) * k, 0.0)
    return np.concatenate([[0], k]), np.concatenate([[0.0], curve])


def auuc(y: np.ndarray, treated: np.ndarray, score: np.ndarray) -> float:
    """Normalised area under the uplift curve, as scikit-uplift's uplift_auc_score: 0 random, 1 perfect."""
    k, model_curve = uplift_curve(y, treated, score)
    random_curve = k * model_curve[-1] / k[-1]
    _, perfect_curve = uplift_curve(y, treated, (y * treated - y * (1 - treated)).astype(float))
    perfect_area = np.trapezoid(perfect_curve - random_curve, k)
    return float(np.trapezoid(model_curve - random_curve, k) / perfect_area) if perfect_area > 0 else float("nan")


def top_uplift(y: np.ndarray, treated: np.ndarray, score: np.ndarray, share: float) -> float:
    top = np.argsort(-score, kind="stable")[: int(round(share * len(y)))]
    return float(y[top][treated[top]].mean() - y[top][~treated[top]].mean())


def stratified_split(frame: pd.DataFrame, target: str, test_share: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out rows: the same share of every arm x (outcome > 0) stratum."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(frame), dtype=bool)
    strata = frame["treated"].astype(str) + (frame[target] > 0).astype(str)
    for _, rows in frame.groupby(strata).indices.items():
        held[rng.choice(rows, int(round(test_share * len(rows))), replace=False)] = True
    return held


def learners(seed: int) -> dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], Callable]]:
    """name -> fit(x, y, t) returning score(x). Every model is the decision step's XGBoost (uplift._fit)."""

    def two_model(x, y, t):
        models = uplift.fit_learner(x, y, t)
        return lambda z: uplift.predict_uplift(models, z)

    def class_transform(x, y, t):
        e = t.mean()
        model = uplift._fit(x, y * (t / e - (~t) / (1 - e)))
        return lambda z: uplift._predict(model, z)

    def x_learner(x, y, t):
        treated_model, control_model = uplift.fit_learner(x, y, t)
        tau_t = uplift._fit(x[t], y[t] - uplift._predict(control_model, x[t]))
        tau_c = uplift._fit(x[~t], uplift._predict(treated_model, x[~t]) - y[~t])
        e = t.mean()
        return lambda z: e * uplift._predict(tau_c, z) + (1 - e) * uplift._predict(tau_t, z)

    def response(x, y, t):
        model = uplift._fit(x, y)
        return lambda z: uplift._predict(model, z)

    def random(x, y, t):
        rng = np.random.default_rng(seed)
        return lambda z: rng.random(len(z))

    return {"two_model": two_model, "class_transform": class_transform, "x_learner": x_learner,
            "response": response, "random": random}


def guard_on_training(x: np.ndarray, y: np.ndarray, t: np.ndarray, seed: int, boot: int) -> uplift.Fitted:
    fold = np.random.default_rng(seed).random(len(y)) < 0.5
    return uplift.fit_out_of_fold(x, y, t, fold, boot)


def evaluate(name: str, y: np.ndarray, t: np.ndarray, score: np.ndarray, boot: int, seed: int) -> dict:
    qini = uplift.qini_coefficient(y, t, score)
    q_low, q_high = uplift.bootstrap_interval(uplift.qini_coefficient, y, t, score, boot, seed)
    area = auuc(y, t, score)
    a_low, a_high = uplift.bootstrap_interval(auuc, y, t, score, boot, seed)
    row = {"learner": name, "qini": qini, "qini_low": q_low, "qini_high": q_high,
           "auuc": area, "auuc_low": a_low, "auuc_high": a_high}
    row.update({f"top{int(s * 100)}": top_uplift(y, t, score, s) for s in TOP})
    return row


def qini_difference(y: np.ndarray, treated: np.ndarray, scores: np.ndarray) -> float:
    """Qini of the first score column minus Qini of the second, on the same rows (a paired comparison)."""
    return uplift.qini_coefficient(y, treated, scores[:, 0]) - uplift.qini_coefficient(y, treated, scores[:, 1])


def compare(rows: list[dict], scores: dict[str, np.ndarray], y: np.ndarray, t: np.ndarray, boot: int,
            seed: int) -> None:
    """Paired bootstrap 95% interval of Qini(learner) - Qini(two_model) on the same resampled held-out rows."""
    for row in rows:
        if row["learner"] == "two_model":
            continue
        paired = np.column_stack([scores["two_model"], scores[row["learner"]]])
        low, high = uplift.bootstrap_interval(qini_difference, y, t, paired, boot, seed)
        row["vs_two_model"] = (qini_difference(y, t, paired), low, high)


def run(frame: pd.DataFrame, test_share: float, boot: int, seed: int, treatments: tuple[str, ...] = tuple(
        data.TREATMENTS), targets: tuple[str, ...] = TARGETS) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {target: [] for target in targets}
    for treatment in treatments:
        arms = data.comparison(frame, treatment)
        x = data.features(arms)
        t = arms["treated"].to_numpy(dtype=bool)
        for target in targets:
            y = arms[target].to_numpy(dtype=float)
            held = stratified_split(arms, target, test_share, seed)
            train = ~held
            ate = float(y[held & t].mean() - y[held & ~t].mean())
            guarded = guard_on_training(x[train], y[train], t[train], seed, boot)
            status, _ = uplift.guard(guarded)
            scores, rows = {}, []
            for name, fit in learners(seed).items():
                started = time.perf_counter()
                score = scores[name] = fit(x[train], y[train], t[train])(x[held])
                row = evaluate(name, y[held], t[held], score, boot, seed)
                row.update(email=treatment, ate=ate, seconds=time.perf_counter() - started,
                           n_train=int(train.sum()), n_test=int(held.sum()))
                if name == "two_model":
                    row["guard"] = (f"{status}: OOF Qini {guarded.qini:.3f} "
                                    f"[{guarded.qini_ci_low:.3f}, {guarded.qini_ci_high:.3f}]")
                rows.append(row)
                print(f"  {treatment} {target} {name}: Qini {row['qini']:.3f} ({row['seconds']:.1f} s)",
                      file=sys.stderr)
            compare(rows, scores, y[held], t[held], boot, seed)
            tables[target].extend(rows)
    return tables


def format_table(target: str, rows: list[dict]) -> str:
    unit = "visit rate, percentage points" if target == "visit" else "spend per customer, USD"
    scale, fmt = (100.0, "{:+.2f}") if target == "visit" else (1.0, "{:+.3f}")
    lines = [
        f"**{target}** (uplift at top k% and ATE in {unit}; [95% bootstrap interval])",
        "",
        "| e-mail | learner | Qini | two_model's Qini minus this (paired) | AUUC | top 10% | top 20% | top 30% | ATE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d = r.get("vs_two_model")
        paired = f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]" if d else ""
        lines.append(
            f"| {r['email']} | {r['learner']} | {r['qini']:.3f} [{r['qini_low']:.3f}, {r['qini_high']:.3f}] | "
            f"{paired} | "
            f"{r['auuc']:.3f} [{r['auuc_low']:.3f}, {r['auuc_high']:.3f}] | "
            + " | ".join(fmt.format(r[f"top{int(s * 100)}"] * scale) for s in TOP)
            + f" | {fmt.format(r['ate'] * scale)} |"
        )
    guards = [f"- {r['email']}, {target}: guard on the training split: {r['guard']}" for r in rows if "guard" in r]
    return "\n".join([*lines, "", *guards])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=data.DEFAULT_SOURCE)
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--boot", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = data.load(args.source)
    tables = run(frame, args.test_share, args.boot, args.seed)
    first = tables[TARGETS[0]][0]
    print(f"Hillstrom, {len(frame):,} customers; per e-mail vs no e-mail: {first['n_train']:,} training / "
          f"{first['n_test']:,} held-out rows (stratified on arm x outcome, seed {args.seed}), "
          f"{args.boot} bootstrap resamples; {time.perf_counter() - started:.0f} s\n")
    for target in TARGETS:
        print(format_table(target, tables[target]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
