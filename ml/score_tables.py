"""The tables nightly scoring writes: the contract with the downstream actions step, and the run record.

``ml.customer_scores`` (one row per customer, as-of date and model), ``ml.customer_category_scores`` (per consumable
category) and ``ml.scoring_runs`` (one row per model and night, what
``ml.evaluation_report.format_model_summary`` reads).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from ml.config import MLConfig
from proactive_crm.warehouse_frames import copy_frame, qualified

SERVING_METHODS = ("xgboost", "rules", "recency", "rfm", "bgnbd", "bgnbd_p_alive")  # ml.serving


def _method_check(table: str) -> sql.Composable:
    """The methods that may serve (``ml.serving``); a table created before baselines could serve is widened once."""
    name = f"{table.rsplit('.', 1)[-1]}_method_check"
    methods = sql.SQL(", ").join(sql.Literal(m) for m in SERVING_METHODS)
    return sql.SQL(
        """do $check$ begin
            if not exists (
                select 1 from pg_constraint where conrelid = {regclass}::regclass and conname = {name}
                    and pg_get_constraintdef(oid) like '%bgnbd_p_alive%'
            ) then
                alter table {table} drop constraint if exists {ident};
                alter table {table} add constraint {ident} check (method in ({methods}));
            end if;
        end $check$;"""
    ).format(
        regclass=sql.Literal(table),
        name=sql.Literal(name),
        table=qualified(table),
        ident=sql.Identifier(name),
        methods=methods,
    )


def ddl(cfg: MLConfig) -> sql.Composable:
    t = cfg.tables
    return sql.SQL(
        """
        create schema if not exists {scores_schema};
        create table if not exists {scores} (
            customer_id text not null,
            as_of_date date not null,
            model text not null check (model in ('churn_risk', 'next_purchase', 'value_90d')),
            model_version text not null,
            method text not null,
            is_fallback boolean not null,
            score double precision not null,
            p_order_14d double precision,
            p_order_30d double precision,
            reason_1 text,
            reason_2 text,
            reason_3 text,
            scored_at timestamptz not null,
            primary key (customer_id, as_of_date, model)
        );
        create index if not exists customer_scores_as_of_model on {scores} (as_of_date, model);
        create table if not exists {category_scores} (
            customer_id text not null,
            category text not null,
            as_of_date date not null,
            model_version text not null,
            method text not null,
            is_fallback boolean not null,
            expected_days_to_next_purchase double precision not null,
            p_purchase_7d double precision,
            p_purchase_14d double precision,
            reason text,
            scored_at timestamptz not null,
            primary key (customer_id, category, as_of_date)
        );
        create index if not exists customer_category_scores_as_of on {category_scores} (as_of_date);
        {scores_check}
        {category_check}
        create table if not exists {runs} (
            as_of_date date not null,
            model text not null,
            model_version text not null,
            method text not null,
            is_fallback boolean not null,
            fallback_reason text,
            rows_scored bigint not null,
            seconds double precision not null,
            main_metric text,
            metric_value double precision,
            best_baseline text,
            baseline_value double precision,
            scored_at timestamptz not null,
            primary key (as_of_date, model)
        );
        """
    ).format(
        scores_check=_method_check(t.scores),
        category_check=_method_check(t.category_scores),
        scores_schema=sql.Identifier(t.scores.split(".", 1)[0]),
        scores=qualified(t.scores),
        category_scores=qualified(t.category_scores),
        runs=qualified(t.scoring_runs),
    )


def record_runs(writer: psycopg.Connection, cfg: MLConfig, scorers: list[Any], as_of: date, scored_at: Any) -> None:
    """One row per model and night in ml.scoring_runs: version or rules and why, rows, seconds, held-out metric."""
    rows = pd.DataFrame(
        {
            "as_of_date": as_of,
            "model": [s.model for s in scorers],
            "model_version": [s.version for s in scorers],
            "method": [s.method for s in scorers],
            "is_fallback": [s.is_fallback for s in scorers],
            "fallback_reason": [s.fallback_reason for s in scorers],
            "rows_scored": [s.rows for s in scorers],
            "seconds": [round(s.seconds, 2) for s in scorers],
            "main_metric": [s.metrics.get("metric") for s in scorers],
            "metric_value": [s.metrics.get("model") for s in scorers],
            "best_baseline": [s.metrics.get("best_baseline") for s in scorers],
            "baseline_value": [s.metrics.get("baseline") for s in scorers],
            "scored_at": scored_at,
        }
    )
    columns = list(rows.columns)
    copy_frame(writer, cfg.tables.scoring_runs, rows, columns)
