"""ML benchmark: XGBoost training time and peak memory on 1,000,000 customer snapshots, and nightly scoring time and
peak memory for 1,000,000 customers through ``ml.score`` against PostgreSQL.

    python benchmarks/ml_train_score.py [--part train|score|all] [--snapshots 1000000] [--customers 1000000]

Training: synthetic snapshots shaped like ``ml.ml_customer_features`` (44 numeric + 2 categorical features + 2 BG/NBD
features) with planted signal; each model is fitted in a fresh process for ``--rounds`` trees (the real pipeline
early-stops around 150-300 on the demo sample and fits each model four times: with / without BG/NBD features, on
the validation split and on all cut-offs), so the figure is per fit. Also times the BG/NBD maximum-likelihood fit.

Scoring: a database of its own on the warehouse server (CRM_WAREHOUSE_URL, or the embedded one) with ~4 orders per
customer, order lines in consumable categories and a 48-column feature table as of the run date + 1; champions with
the same tree budget are trained on a 50,000-row sample and registered in a temporary registry; then the real
``ml.score.score`` runs in a fresh process (peak RSS of that process). Benchmarks print figures; no test asserts them.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN_DATE = date(2026, 10, 31)
AS_OF = RUN_DATE + timedelta(days=1)
CATEGORIES = ["coffee", "tea", "pet_food", "water_filters", "vitamins", "printer_ink", "cleaning", "diapers"]
GENERIC = [f"signal_{i:02d}" for i in range(36)]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------------- training
def snapshots(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    since = rng.gamma(1.2, 40, n)
    orders = 1 + rng.poisson(3, n)
    frame = pd.DataFrame(
        {
            "days_since_last_order": since.astype(np.float32),
            "count_orders": orders.astype(np.float32),
            "count_orders_30d": rng.poisson(0.4, n).astype(np.float32),
            "count_orders_365d": np.minimum(orders, rng.poisson(2.5, n)).astype(np.float32),
            "total_revenue": (orders * rng.lognormal(3.5, 0.6, n)).astype(np.float32),
            "average_order_value": rng.lognormal(3.5, 0.6, n).astype(np.float32),
            "loyalty_status": pd.Categorical(rng.choice(["new", "repeat", "loyal", "lapsed"], n)),
            "top_category": pd.Categorical(rng.choice(CATEGORIES, n)),
            "bgnbd_p_alive": rng.beta(4, 1.5, n).astype(np.float32),
            "bgnbd_expected_purchases_90d": rng.gamma(1.5, 0.6, n).astype(np.float32),
        }
    )
    for i, name in enumerate(GENERIC):
        frame[name] = rng.normal(0, 1, n).astype(np.float32) if i % 2 else rng.poisson(2, n).astype(np.float32)
    hazard = -2.5 + 0.025 * since - 0.3 * np.log1p(orders) - 1.5 * frame["bgnbd_p_alive"] + 0.3 * frame["signal_01"]
    frame["label_churn"] = (rng.random(n) < 1 / (1 + np.exp(-hazard))).astype(np.int8)
    log_t = 3.2 + 0.01 * since - 0.2 * np.log1p(orders) + 0.3 * frame["signal_03"] + rng.normal(0, 0.9, n)
    t = np.exp(log_t)
    follow = rng.uniform(90, 240, n)
    frame["label_event"] = t <= follow
    frame["label_time"] = np.where(frame["label_event"], np.ceil(t), follow)
    frame["label_revenue"] = np.where(frame["label_churn"] == 1, 0.0, rng.gamma(2, frame["average_order_value"] / 2))
    return frame


def train_one(model: str, n: int, rounds: int) -> dict[str, float]:
    import xgboost as xgb

    from ml import train
    from ml.config import MLConfig
    from ml.features import Feature

    frame = snapshots(n)
    labels = {"label_churn", "label_event", "label_time", "label_revenue"}
    spec = [
        Feature(
            c,
            "categorical" if isinstance(frame[c].dtype, pd.CategoricalDtype) else "numeric",
            "warehouse",
            levels=tuple(frame[c].cat.categories) if isinstance(frame[c].dtype, pd.CategoricalDtype) else (),
        )
        for c in frame.columns
        if c not in labels
    ]
    cfg = MLConfig(models_dir=Path(tempfile.gettempdir()))
    started = time.perf_counter()
    matrix = train.dmatrix(model, frame, spec, cfg.nthread)
    build = time.perf_counter() - started
    started = time.perf_counter()
    booster = xgb.train(train.booster_params(model, cfg, spec), matrix, num_boost_round=rounds)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    booster.predict(matrix)
    predict = time.perf_counter() - started
    return {
        "rows": n,
        "features": len(spec),
        "rounds": rounds,
        "dmatrix_s": build,
        "fit_s": fit,
        "predict_s": predict,
        "peak_mib": _peak_mib(),
    }


def bgnbd_one(n: int) -> dict[str, float]:
    from ml import bgnbd

    rng = np.random.default_rng(1)
    x = rng.poisson(3, n)
    T = rng.integers(30, 730, n)
    tx = np.minimum((rng.random(n) * T).astype(int), T) * (x > 0)
    frame = pd.DataFrame({"hist_frequency": x, "hist_recency": tx, "hist_age": T})
    started = time.perf_counter()
    params = bgnbd.fit(frame)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    bgnbd.features(params, frame, 90)
    return {"rows": n, "fit_s": fit, "features_s": time.perf_counter() - started, "peak_mib": _peak_mib()}


# ---------------------------------------------------------------------------------------------------- scoring
def _copy(conn, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    with conn.cursor().copy(f"copy {table} ({', '.join(frame.columns)}) from stdin with (format csv)") as copy:
        copy.write(buffer.getvalue())


def build_database(url: str, customers: int) -> None:
    import psycopg

    rng = np.random.default_rng(7)
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("bench_core", "bench_ml"):
            conn.execute(f"drop schema if exists {schema} cascade")
            conn.execute(f"create schema {schema}")
        conn.execute(
            "create table bench_core.fct_orders (order_id text, customer_id text, ordered_date date, "
            "is_completed boolean, total_amount numeric(14, 2))"
        )
        conn.execute(
            "create table bench_core.fct_order_lines (order_id text, customer_id text, product_id text, "
            "category text, quantity int, line_amount numeric(14, 2), ordered_date date, is_completed boolean)"
        )
        conn.execute(
            "create table bench_core.dim_products (product_id text, category text, is_consumable boolean, "
            "use_cycle_days int)"
        )
        products = pd.DataFrame(
            {
                "product_id": [f"P{i}" for i in range(16)],
                "category": [CATEGORIES[i % 8] for i in range(16)],
                "is_consumable": [i < 12 for i in range(16)],
                "use_cycle_days": [20 + 5 * (i % 8) for i in range(16)],
            }
        )
        _copy(conn, "bench_core.dim_products", products)
        step = 250_000
        for lo in range(0, customers, step):
            ids = np.arange(lo, min(lo + step, customers))
            per = 1 + rng.poisson(3, len(ids))
            cust = np.repeat(ids, per)
            day = rng.integers(0, 730, len(cust))
            order_no = np.arange(len(cust)) + lo * 10
            ordered = pd.to_datetime(RUN_DATE - timedelta(days=729)) + pd.to_timedelta(day, unit="D")
            amount = np.round(rng.lognormal(3.5, 0.6, len(cust)), 2)
            customer_id = pd.Series(cust).map("C{:07d}".format)
            order_id = pd.Series(order_no).map("O{:09d}".format)
            completed = rng.random(len(cust)) > 0.05
            _copy(
                conn,
                "bench_core.fct_orders",
                pd.DataFrame(
                    {
                        "order_id": order_id,
                        "customer_id": customer_id,
                        "ordered_date": ordered.date,
                        "is_completed": completed,
                        "total_amount": amount,
                    }
                ),
            )
            product = rng.integers(0, 16, len(cust))
            _copy(
                conn,
                "bench_core.fct_order_lines",
                pd.DataFrame(
                    {
                        "order_id": order_id,
                        "customer_id": customer_id,
                        "product_id": products.product_id.to_numpy()[product],
                        "category": products.category.to_numpy()[product],
                        "quantity": 1 + (rng.random(len(cust)) < 0.3),
                        "line_amount": amount,
                        "ordered_date": ordered.date,
                        "is_completed": completed,
                    }
                ),
            )
        generic = ", ".join(
            f"(random() * 4)::int as {name}" if i % 2 == 0 else f"random()::float8 as {name}"
            for i, name in enumerate(GENERIC)
        )
        conn.execute("select setseed(0.42)")
        conn.execute(
            f"""
            create table bench_ml.features as
            select customer_id, %(as_of)s::date as as_of_date,
                ((%(as_of)s::date - 1) - max(ordered_date))::int as days_since_last_order,
                count(*) as count_orders,
                count(*) filter (where ordered_date >= %(as_of)s::date - 30) as count_orders_30d,
                count(*) filter (where ordered_date >= %(as_of)s::date - 365) as count_orders_365d,
                sum(total_amount)::numeric(14, 2) as total_revenue,
                (sum(total_amount) / count(*))::float8 as average_order_value,
                case when count(*) = 1 then 'new' when count(*) < 4 then 'repeat' else 'loyal' end as loyalty_status,
                (array['coffee', 'tea', 'pet_food', 'cleaning'])[1 + (abs(hashtext(customer_id)) %% 4)] as top_category,
                {generic}
            from bench_core.fct_orders where is_completed and ordered_date < %(as_of)s
            group by customer_id""",
            {"as_of": AS_OF},
        )
        conn.execute("analyze")


def register_champions(url: str, cfg) -> None:
    """Champions whose feature lists match the bench tables: real pipeline features, planted labels."""
    import psycopg
    import xgboost as xgb

    from ml import bgnbd, registry, train
    from ml.categories import category_spec, derive
    from ml.features import build_spec, history_query, warehouse_feature_types
    from ml.score import _customer_query, _materialise_history
    from proactive_crm.warehouse_frames import read_frame

    with psycopg.connect(url) as conn:
        types = warehouse_feature_types(conn, cfg)
        _materialise_history(conn, cfg, AS_OF)
        sample = read_frame(
            conn,
            f"select * from ({_customer_query(cfg, list(types)).as_string(conn)}) q limit 50000",
            {"as_of": [AS_OF]},
        )
        from ml.categories import category_history_query

        pairs = read_frame(
            conn, f"select * from ({category_history_query(cfg).as_string(conn)}) q limit 50000", {"as_of": [AS_OF]}
        )
        history = read_frame(conn, history_query(cfg), {"as_of": [AS_OF]})
    params = bgnbd.fit(history)
    names = list(bgnbd.feature_names(cfg.horizon_days))
    sample = pd.concat([sample, bgnbd.features(params, sample, cfg.horizon_days)], axis=1)
    rng = np.random.default_rng(0)
    base_spec = build_spec(sample, types, names)
    sample["label_churn"] = rng.random(len(sample)) < 1 / (1 + np.exp(-(sample.days_since_last_order - 120) / 60))
    sample["label_revenue"] = rng.gamma(1.0, 20.0, len(sample)) * (1 - sample["label_churn"])
    sample["label_time"] = np.ceil(rng.lognormal(3.5, 1.0, len(sample)))
    sample["label_event"] = sample["label_time"] < 120
    pairs = derive(pairs.merge(history, on=["customer_id", "as_of_date"]))
    pairs = pd.concat([pairs, bgnbd.features(params, pairs, cfg.horizon_days)], axis=1)
    pairs["label_time"] = np.ceil(rng.lognormal(3.5, 1.0, len(pairs)))
    pairs["label_event"] = pairs["label_time"] < 120
    for model, frame, spec in (
        ("churn_risk", sample, base_spec),
        ("next_purchase", sample, base_spec),
        ("value_90d", sample, base_spec),
        ("next_purchase_category", pairs, category_spec(pairs, names)),
    ):
        matrix = train.dmatrix(model, frame, spec, cfg.nthread)
        booster = xgb.train(train.booster_params(model, cfg, spec), matrix, num_boost_round=cfg.num_boost_round)
        folder = registry.staging_dir(cfg, model)
        booster.save_model(str(folder / "model.json"))
        registry.write_json(folder / "metadata.json", {"features": [f.as_dict() for f in spec], "aft_sigma": 1.0})
        registry.write_json(folder / "metrics.json", {"comparison": {}})
        registry.publish(cfg, model, "bench", folder)
        registry.set_champion(cfg, model, "bench", "promote", "benchmark")


def bench_config(models_dir: Path, rounds: int):
    from ml.config import MLConfig, Tables

    return MLConfig(
        models_dir=models_dir,
        num_boost_round=rounds,
        tables=Tables(
            features="bench_ml.features",
            orders="bench_core.fct_orders",
            order_lines="bench_core.fct_order_lines",
            products="bench_core.dim_products",
            scores="bench_ml.customer_scores",
            category_scores="bench_ml.customer_category_scores",
            scoring_runs="bench_ml.scoring_runs",
        ),
    )


def score_once(url: str, models_dir: str, rounds: int) -> dict[str, object]:
    from ml.score import score

    cfg = bench_config(Path(models_dir), rounds)
    started = time.perf_counter()
    import logging

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logging.getLogger("ml.score").addHandler(Keep())
    logging.getLogger("ml.score").setLevel(logging.INFO)
    summary = score(url, cfg, RUN_DATE)
    phases = next((r for r in records if r.startswith("scoring phases")), "")
    return {"seconds": time.perf_counter() - started, "peak_mib": _peak_mib(), "models": summary, "phases": phases}


# ------------------------------------------------------------------------------------------------------- main
def _child(args: list[str]) -> dict:
    completed = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-3000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["train", "score", "all"], default="all")
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200, help="trees per model (the demo's early stopping: 57-170)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "train":
            print(json.dumps(train_one(rest[0], args.snapshots, args.rounds)))
        elif kind == "bgnbd":
            print(json.dumps(bgnbd_one(args.snapshots)))
        else:
            print(json.dumps(score_once(rest[0], rest[1], args.rounds), default=str))
        return 0

    if args.part in ("train", "all"):
        print(f"training: {args.snapshots:,} snapshots, {args.rounds} trees, depth 5, 2 threads (fresh process each)")
        for model in ("churn_risk", "next_purchase", "value_90d"):
            r = _child(["--snapshots", str(args.snapshots), "--rounds", str(args.rounds), "--child", "train", model])
            print(
                f"  {model:<14} fit {r['fit_s']:6.1f} s  (DMatrix {r['dmatrix_s']:4.1f} s, "
                f"predict {r['predict_s']:4.1f} s)"
                f"  peak RSS {r['peak_mib']:6.0f} MiB  [{r['features']} features]",
                flush=True,
            )
        r = _child(["--snapshots", str(args.snapshots), "--child", "bgnbd"])
        print(
            f"  BG/NBD MLE     fit {r['fit_s']:6.1f} s  (features {r['features_s']:4.1f} s)  "
            f"peak RSS {r['peak_mib']:6.0f} MiB",
            flush=True,
        )

    if args.part in ("score", "all"):
        import psycopg

        from proactive_crm.warehouse import warehouse_url, with_database

        server = warehouse_url()
        dbname = "crm_bench_ml"
        with psycopg.connect(with_database(server, "postgres"), autocommit=True) as admin:
            admin.execute(f'drop database if exists "{dbname}" with (force)')
            admin.execute(f'create database "{dbname}"')
        url = with_database(server, dbname)
        try:
            started = time.perf_counter()
            build_database(url, args.customers)
            print(
                f"scoring: {args.customers:,} customers; test database built in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            with tempfile.TemporaryDirectory() as models_dir:
                register_champions(url, bench_config(Path(models_dir), args.rounds))
                r = _child(["--rounds", str(args.rounds), "--child", "score", url, models_dir])
            print(f"  ml.score.score: {r['seconds']:.1f} s wall, peak RSS {r['peak_mib']:.0f} MiB (whole process)")
            print(f"    {r['phases']}")
            for m in r["models"]:
                print(
                    f"    {m['model']:<24} {m['method']:<8} {m['rows']:>10,} rows  {m['seconds']:6.1f} s "
                    f"(of which COPY into PostgreSQL {m['copy_seconds']:.1f} s)"
                )
        finally:
            if not args.keep:
                with psycopg.connect(with_database(server, "postgres"), autocommit=True) as admin:
                    admin.execute(f'drop database if exists "{dbname}" with (force)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
