"""Point-in-time features: the warehouse's feature mart, the purchase history behind BG/NBD, and the feature spec.

* Warehouse features come from ``ml.ml_customer_features`` (one row per customer and as-of date, computed from
  data strictly before the as-of date). Feature columns are discovered from the table: everything except the keys
  and date/timestamp columns; numbers and booleans are numeric, text is categorical.
* ``history_query`` summarises completed orders strictly before each as-of date (purchase days, first and last
  purchase, revenue): the population (customers with at least one completed order), the BG/NBD inputs, the
  baselines' RFM and the rules of the cold-start fallback.
* A ``Feature`` list (name, kind, pg type, categorical levels) travels with every model; scoring refuses a model
  whose warehouse features are missing or retyped in the table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from ml import bgnbd
from ml.config import MLConfig
from ml.split import DataStats
from proactive_crm.warehouse_frames import qualified, read_frame, table_columns

KEYS = ("customer_id", "as_of_date")
NON_FEATURE_TYPES = ("date", "timestamp with time zone", "timestamp without time zone", "time", "interval")
NUMERIC_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision", "boolean")
MAX_LEVELS = 64  # categorical levels kept (most frequent first); rarer values count as missing
HISTORY_COLUMNS = (
    "hist_frequency",
    "hist_recency",
    "hist_age",
    "hist_days_since_last",
    "hist_orders",
    "hist_revenue",
    "hist_mean_value",
)


class FeatureMismatch(RuntimeError):
    """The model's feature list and the warehouse columns differ; the message lists the columns."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # "numeric" | "categorical"
    source: str  # "warehouse" | "derived"
    pg_type: str | None = None
    levels: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["levels"] = list(self.levels)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Feature:
        return cls(
            name=str(raw["name"]),
            kind=str(raw["kind"]),
            source=str(raw["source"]),
            pg_type=raw.get("pg_type"),  # type: ignore[arg-type]
            levels=tuple(raw.get("levels") or ()),  # type: ignore[arg-type]
        )


def warehouse_feature_types(conn: psycopg.Connection, cfg: MLConfig) -> dict[str, str]:
    """Feature column -> PostgreSQL type, as the feature table has them now."""
    columns = table_columns(conn, cfg.tables.features)
    if not columns:
        raise FeatureMismatch(
            f"feature table {cfg.tables.features} does not exist: build the warehouse first "
            "(dbt build --select tag:warehouse, the build_warehouse task of crm_nightly)"
        )
    missing_keys = [k for k in KEYS if k not in columns]
    if missing_keys:
        raise FeatureMismatch(f"feature table {cfg.tables.features} has no key column(s) {missing_keys}")
    return {
        name: kind
        for name, kind in columns.items()
        if name not in KEYS and kind not in NON_FEATURE_TYPES and name not in cfg.exclude_features
    }


def feature_as_of_dates(conn: psycopg.Connection, cfg: MLConfig) -> list[date]:
    query = sql.SQL("select distinct as_of_date from {} order by 1").format(qualified(cfg.tables.features))
    return [r[0] for r in conn.execute(query).fetchall()]


def data_stats(conn: psycopg.Connection, cfg: MLConfig, run_date: date) -> DataStats:
    query = sql.SQL(
        "select count(distinct customer_id), count(*), min(ordered_date), max(ordered_date) "
        "from {} where is_completed and ordered_date <= %(run_date)s"
    ).format(qualified(cfg.tables.orders))
    customers, orders, first, last = conn.execute(query, {"run_date": run_date}).fetchone()  # type: ignore[misc]
    return DataStats(int(customers or 0), int(orders or 0), first, last)


def sample_filter(column: str, sample: int | None) -> sql.Composable:
    """``and <column>`` in a stable sample of customers, ``sample`` per 10,000 (None: everybody).

    A hash of the id, not a random draw: the same customers at every cut-off and on every run.
    """
    if sample is None:
        return sql.SQL("")
    return sql.SQL("and mod(abs(hashtext({})), 10000) < {}").format(sql.SQL(column), sql.Literal(int(sample)))


def purchase_days_cte(cfg: MLConfig, sample: int | None = None) -> sql.Composable:
    """One row per customer and store-local day with a completed order (BTYD counts purchase days, not orders)."""
    return sql.SQL(
        """purchase_days as (
            select customer_id, ordered_date, count(*) as n_orders, sum(total_amount)::float8 as amount
            from {orders}
            where is_completed {sample}
            group by customer_id, ordered_date
        )"""
    ).format(orders=qualified(cfg.tables.orders), sample=sample_filter("customer_id", sample))


def history_query(cfg: MLConfig, window_days: int | None = None, sample: int | None = None) -> sql.Composable:
    """Per (customer, as-of date in %(as_of)s): completed-order history strictly before the as-of date.

    ``window_days`` keeps customers whose latest purchase lies within that many days (the scoring window).
    """
    having = sql.SQL("")
    if window_days is not None:
        having = sql.SQL("having c.as_of_date - max(p.ordered_date) <= {}").format(sql.Literal(window_days))
    return sql.SQL(
        """with cutoffs as (select unnest(%(as_of)s::date[]) as as_of_date),
        {purchase_days}
        select
            p.customer_id,
            c.as_of_date,
            (count(*) - 1)::int as hist_frequency,
            (max(p.ordered_date) - min(p.ordered_date))::int as hist_recency,
            (c.as_of_date - min(p.ordered_date))::int as hist_age,
            (c.as_of_date - max(p.ordered_date))::int as hist_days_since_last,
            sum(p.n_orders)::int as hist_orders,
            sum(p.amount) as hist_revenue,
            sum(p.amount) / count(*) as hist_mean_value
        from cutoffs c
        join purchase_days p on p.ordered_date < c.as_of_date
        group by c.as_of_date, p.customer_id
        {having}"""
    ).format(purchase_days=purchase_days_cte(cfg, sample), having=having)


def warehouse_features_query(cfg: MLConfig, columns: list[str]) -> sql.Composable:
    return sql.SQL("select {keys}, {cols} from {table} where as_of_date = any(%(as_of)s::date[])").format(
        keys=sql.SQL(", ").join(sql.Identifier(k) for k in KEYS),
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns) if columns else sql.SQL("1 as _none"),
        table=qualified(cfg.tables.features),
    )


def count_snapshots(conn: psycopg.Connection, cfg: MLConfig, as_of: list[date]) -> int:
    query = sql.SQL("select count(*) from ({}) h").format(history_query(cfg))
    return int(conn.execute(query, {"as_of": as_of}).fetchone()[0])  # type: ignore[index]


def load_customer_frame(
    conn: psycopg.Connection, cfg: MLConfig, as_of: list[date], sample: int | None = None
) -> pd.DataFrame:
    """Warehouse features + purchase history for customers with a completed order before each as-of date."""
    types = warehouse_feature_types(conn, cfg)
    history = read_frame(conn, history_query(cfg, sample=sample), {"as_of": as_of})
    features = read_frame(conn, warehouse_features_query(cfg, list(types)), {"as_of": as_of})
    frame = history.merge(features, on=list(KEYS), how="left", validate="one_to_one")
    return frame.sort_values(list(KEYS), kind="stable").reset_index(drop=True)


def add_bgnbd_features(frame: pd.DataFrame, horizon_days: int) -> tuple[pd.DataFrame, dict[str, dict]]:
    """BG/NBD fitted per as-of date on that date's history only; returns the frame and the fitted parameters."""
    names = bgnbd.feature_names(horizon_days)
    out = frame.copy()
    for name in names:
        out[name] = np.nan
    fitted: dict[str, dict] = {}
    for as_of, rows in frame.groupby("as_of_date", sort=True):
        params = bgnbd.fit(rows)
        derived = bgnbd.features(params, rows, horizon_days)
        out.loc[rows.index, list(names)] = derived[list(names)].to_numpy()
        fitted[pd.Timestamp(as_of).date().isoformat()] = params.as_dict()
    return out, fitted


def build_spec(frame: pd.DataFrame, warehouse_types: dict[str, str], derived: list[str]) -> list[Feature]:
    """The feature list a model is trained on; categorical levels come from the training rows."""
    spec = []
    for name, pg_type in warehouse_types.items():
        if pg_type in NUMERIC_TYPES:
            spec.append(Feature(name, "numeric", "warehouse", pg_type))
        else:
            counts = frame[name].dropna().astype(str).value_counts(sort=True)
            levels = sorted(counts.index[:MAX_LEVELS].tolist())
            spec.append(Feature(name, "categorical", "warehouse", pg_type, tuple(levels)))
    spec.extend(Feature(name, "numeric", "derived") for name in derived)
    return spec


def design_matrix(frame: pd.DataFrame, spec: list[Feature]) -> pd.DataFrame:
    """Model input: float32 numbers (booleans as 0/1) and categoricals with the training levels, in spec order."""
    columns: dict[str, pd.Series] = {}
    for feature in spec:
        values = frame[feature.name]
        if feature.kind == "categorical":
            text = values.astype("object").where(values.notna(), None)
            columns[feature.name] = pd.Series(pd.Categorical(text, categories=list(feature.levels)), index=frame.index)
        else:
            columns[feature.name] = pd.to_numeric(values, errors="coerce").astype("float32")
    return pd.DataFrame(columns, index=frame.index)


def check_features(spec: list[Feature], warehouse_types: dict[str, str], table: str, strict: bool) -> list[str]:
    """Raise ``FeatureMismatch`` when the model's warehouse features are absent or retyped; return extra columns.

    Extra table columns do not stop scoring unless ``strict``: the model simply does not use them.
    """
    expected = {f.name: f.pg_type for f in spec if f.source == "warehouse"}
    missing = sorted(set(expected) - set(warehouse_types))
    retyped = sorted(
        f"{name} (model: {expected[name]}, table: {warehouse_types[name]})"
        for name in set(expected) & set(warehouse_types)
        if expected[name] != warehouse_types[name]
    )
    extra = sorted(set(warehouse_types) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing from {table}: {', '.join(missing)}")
    if retyped:
        problems.append(f"type changed: {', '.join(retyped)}")
    if extra and strict:
        problems.append(f"in {table} but not in the model: {', '.join(extra)}")
    if problems:
        raise FeatureMismatch(
            "the model's feature list does not match the warehouse columns; "
            + "; ".join(problems)
            + ". Retrain (python -m ml train) or restore the columns."
        )
    return extra
