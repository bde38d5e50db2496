"""Real-data benchmark (`make bench-realdata`): the pipeline's own training and evaluation on real retailers.

    python benchmarks/realdata.py [--dataset olist --dataset tafeng --dataset grocery_elog --dataset sample]
        [--model churn_risk] [--reuse] [--out FILE]

For each dataset in ``../shared/data`` (skipped with a note when absent), and the generated sample of ``make demo``
(``devtools.synth``: 20,000 customers, 365 days, seed 42, the default configuration): its adapter (for the sample,
the generator) writes the landing contract,
the nightly DAG builds the warehouse for the last day of the data in a database of its own (``airflow dags test``,
as the demo's own-data path does), then ``ml.pipeline.train_and_evaluate`` and ``ml.promotion.promote`` run every
model into a fresh registry, exactly as crm_train does. Printed per dataset: ROC AUC, PR AUC, top-decile lift and
Brier score (the probability's level, lower is better) of every method for churn, C-index for next purchase, Spearman
for value, all on the same evaluation rows (the latest history as-of date, a month start or with
``warehouse.as_of_grain: week`` a Monday, whose label window is fully observed), and the method the pipeline serves.
``--reuse`` skips the nightly build when the dataset's database already holds it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
MODELS = ("churn_risk", "next_purchase", "value_90d", "next_purchase_category")
METHODS = (
    "xgboost",
    "xgboost_with_bgnbd",
    "xgboost_without_bgnbd",
    "xgboost_unblended",
    "recency",
    "rfm",
    "bgnbd",
    "bgnbd_p_alive",
    "rules",
)


@dataclass(frozen=True)
class Dataset:
    name: str
    source: Path | None  # the real dataset's folder; None for the generated sample
    adapter: list[str]  # the adapter's command line after the Python executable
    config: Path
    run_date: date
    skip: dict[str, str]  # model -> why it is not benchmarked on this dataset


def datasets(landing_root: Path) -> list[Dataset]:
    from devtools.demo import DEFAULT_END_DATE
    from devtools.synth import command

    def landing(name: str) -> str:
        return str(landing_root / name)  # the folder name names the dataset's database (crm_<name>)

    # make demo's sample, generated as the demo does it (its defaults), into a landing folder of its own
    sample = command(Path(landing("sample")), 20_000, 365, 42, DEFAULT_END_DATE, overwrite=True)[1:]

    return [
        Dataset(
            "olist",
            SHARED / "olist",
            [
                "-m",
                "examples.olist.adapter",
                "--source",
                str(SHARED / "olist"),
                "--out",
                landing("olist"),
                "--overwrite",
            ],
            ROOT / "examples" / "olist" / "pipeline.yml",
            date(2018, 10, 17),
            {},
        ),
        Dataset(
            "tafeng",
            SHARED / "tafeng",
            ["-m", "examples.realdata.adapters", "tafeng", "--out", landing("tafeng"), "--overwrite"],
            ROOT / "examples" / "realdata" / "tafeng.yml",
            date(2001, 2, 28),
            {},
        ),
        Dataset(
            "grocery_elog",
            SHARED / "grocery_elog",
            ["-m", "examples.realdata.adapters", "grocery_elog", "--out", landing("grocery_elog"), "--overwrite"],
            ROOT / "examples" / "realdata" / "grocery_elog.yml",
            date(2007, 12, 30),
            {"value_90d": "the source has no amounts"},
        ),
        Dataset("sample", None, sample, ROOT / "config" / "pipeline.yml", DEFAULT_END_DATE, {}),
    ]


def _environment(ds: Dataset, state: Path) -> dict[str, str]:
    from devtools.demo import dataset_environment
    from proactive_crm.config import load_settings
    from proactive_crm.warehouse import warehouse_url

    landing = Path(ds.adapter[ds.adapter.index("--out") + 1]).resolve()
    os.environ["CRM_CONFIG"] = str(ds.config)
    os.environ["CRM_LANDING_DIR"] = str(landing)
    os.environ["CRM_MODELS_DIR"] = str(state / "models" / ds.name)
    settings = load_settings()
    env = dataset_environment(landing, warehouse_url(settings), settings)
    os.environ.update(env)
    return env


def _night_built(url: str, run_date: date) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select to_regclass('ml.ml_customer_features') is not null and to_regclass('core.fct_orders') is not null"
        ).fetchone()[0]
        if not found:
            return False
        latest = conn.execute("select max(ordered_date) from core.fct_orders").fetchone()[0]
        return latest is not None and latest <= run_date


def _train(ds: Dataset, models: tuple[str, ...] = MODELS) -> dict[str, dict]:
    import psycopg

    from ml.config import ml_config
    from ml.pipeline import train_and_evaluate
    from ml.promotion import promote

    cfg = ml_config()
    shutil.rmtree(cfg.models_dir, ignore_errors=True)
    out: dict[str, dict] = {}
    with psycopg.connect(os.environ["CRM_WAREHOUSE_URL"]) as conn:
        for model in models:
            if model in ds.skip:
                out[model] = {"status": "skipped", "reason": ds.skip[model]}
                continue
            started = time.perf_counter()
            result = train_and_evaluate(conn, cfg, model, ds.run_date)
            row: dict = {"status": result.status, "reason": result.reason, "seconds": time.perf_counter() - started}
            if result.status == "trained":
                decision = promote(cfg, model, result.version)
                row.update(result.metrics, serving=decision.serving, decision=decision.reason, version=result.version)
            out[model] = row
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def table(name: str, results: dict[str, dict]) -> list[str]:
    """One Markdown table per dataset: methods as rows, the metrics the issue asks for as columns."""
    trained = {m: r for m, r in results.items() if r["status"] == "trained"}
    lines = [f"### {name}", ""]
    if trained:
        rows_eval = {m: r["results"]["xgboost"].get("n") for m, r in trained.items()}
        lines += ["Evaluation rows: " + ", ".join(f"{m} {int(n):,}" for m, n in rows_eval.items() if n), ""]
    header = (
        "| method | churn ROC AUC | churn PR AUC | churn top-decile lift | churn Brier | next purchase C-index "
        "| value Spearman |"
    )
    lines += [header, "|---|---|---|---|---|---|---|"]
    for method in METHODS:
        cells = []
        for model, keys in (
            ("churn_risk", ("roc_auc", "pr_auc", "top_decile_lift", "brier")),
            ("next_purchase", ("c_index",)),
            ("value_90d", ("spearman",)),
        ):
            metrics = trained.get(model, {}).get("results", {}).get(method)
            cells += [_fmt(metrics.get(k)) if metrics else "" for k in keys]
        if any(cells):
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append("")
    for model, row in results.items():
        if row["status"] == "trained":
            comparison = row["comparison"]
            lines.append(
                f"- {model}: serves **{row['serving']}** ({comparison['metric']} xgboost {_fmt(comparison['model'])}"
                f" vs best baseline {comparison['best_baseline']} {_fmt(comparison['baseline'])}; "
                f"trained in {row['seconds']:.0f} s)"
            )
            if not comparison.get("measurable", True):
                lines.append(f"  - {row['decision']}")
            tested = row.get("backtest") or {}
            if tested.get("origins"):
                gaps = ", ".join(
                    f"{o['origin']} {_fmt(o['model'] - o['baseline'], 3)} vs {o['best_baseline']}"
                    + ("" if o.get("measurable", True) else f" (not measurable: {o['events']} events)")
                    for o in tested["origins"]
                )
                lines.append(
                    f"  - backtest, model minus best baseline: mean {_fmt(tested['gap_mean'])}, "
                    f"min {_fmt(tested['gap_min'])}, max {_fmt(tested['gap_max'])} ({gaps})"
                )
            elif tested.get("no_origin"):
                lines.append(f"  - backtest: {tested['no_origin']}")
        else:
            lines.append(f"- {model}: {row['status']}: {row['reason']}")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", action="append", choices=["olist", "tafeng", "grocery_elog", "sample"])
    parser.add_argument("--reuse", action="store_true", help="reuse a dataset's warehouse built by an earlier run")
    parser.add_argument("--model", action="append", choices=MODELS, help="only these models (default: all)")
    parser.add_argument("--out", type=Path, help="also write the tables (Markdown) to this file")
    args = parser.parse_args(argv)
    state = ROOT / ".crm" / "bench_realdata"
    report: list[str] = []
    for ds in datasets(ROOT / "data" / "realdata"):
        if args.dataset and ds.name not in args.dataset:
            continue
        if ds.source is not None and not ds.source.exists():
            report += [f"### {ds.name}", "", f"skipped: {ds.source} is absent", ""]
            continue
        print(f"==> {ds.name}", flush=True)
        env = _environment(ds, state)
        if not (args.reuse and _night_built(env["CRM_WAREHOUSE_URL"], ds.run_date)):
            subprocess.run([sys.executable, *ds.adapter], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            from devtools.local_airflow import dags_test
            from proactive_crm.config import load_settings

            log = state / "logs" / f"{ds.name}_crm_nightly_{ds.run_date}.log"
            code = dags_test("crm_nightly", ds.run_date, load_settings(), log, env_extra=env)
            print(f"    nightly build: exit {code}, log {log}", flush=True)
            if code != 0:
                report += [f"### {ds.name}", "", f"nightly build failed (exit {code}); see {log}", ""]
                continue
        lines = table(ds.name, _train(ds, tuple(args.model or MODELS)))
        print("\n".join(lines), flush=True)
        report += lines
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(report) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
