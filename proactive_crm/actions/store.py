"""The ``actions`` schema: the decision audit trail, the published contract tables and the step's bookkeeping.

``ensure_actions_schema`` is idempotent and also runs before the dbt build (the effectiveness mart reads these
tables as sources), so they exist from the first night on, empty, like the raw tables of a source that has not
delivered yet.
"""

from __future__ import annotations

import json

import psycopg

from proactive_crm.actions import contract

DDL_LOCK_KEY = 7_263_116  # serialises concurrent create-if-not-exists (different from the quality gate's key)

OUTCOMES = ("selected", "suppressed", "control_group", "holdout")

DECISIONS_DDL = """
create schema if not exists actions;
create table if not exists actions.decisions (
    run_date date not null,
    as_of_date date not null,
    customer_id text not null,
    action_type text not null,
    trigger_code text not null,
    trigger_detail text not null,
    trigger_date date,
    segment text not null,
    pareto_class text,
    is_high_value boolean not null,
    value_at_stake numeric(14, 2) not null,
    churn_risk double precision,
    value_90d numeric(14, 2),
    days_since_last_order integer,
    count_orders bigint,
    total_revenue numeric(14, 2),
    channel text,
    p_response double precision,
    uplift double precision,
    expected_value numeric(14, 4),
    ranking_method text,
    outcome text not null check (outcome in ('selected', 'suppressed', 'control_group', 'holdout')),
    suppression_reason text,
    suppression_detail text,
    priority_rank integer,
    action_id text not null,
    contact_address text,
    time_zone text,
    template_id text,
    personalisation jsonb,
    send_after timestamptz,
    expires_at timestamptz,
    reason text not null,
    model_versions jsonb not null,
    window_days integer not null,
    policy_version text not null,
    decided_at timestamptz not null default now(),
    primary key (run_date, customer_id, action_type)
);
create index if not exists decisions_action_idx on actions.decisions (action_id);
create index if not exists decisions_customer_idx on actions.decisions (customer_id, run_date);
comment on table actions.decisions is
    'Every candidate action of every night with its outcome: selected (published), suppressed (suppression_reason '
    'says which policy rule), control_group (global control, never contacted) or holdout (per action type). '
    'Replaced per run_date by a re-run. channel, expected_value and send_after are the would-be values for '
    'control_group and holdout rows.';

create table if not exists actions.publications (
    run_date date primary key,
    published_at timestamptz not null,
    contract_version text not null,
    count_email bigint not null,
    count_sms bigint not null,
    count_call_center bigint not null,
    outbox_dir text
);
comment on table actions.publications is 'One row per published run date: when, which contract version, how many.';

create table if not exists actions.contract_versions (
    contract_version text primary key,
    first_published_at timestamptz not null,
    columns jsonb not null
);

create table if not exists actions.response_rates (
    run_date date not null,
    action_type text not null,
    channel text not null,
    segment text not null,
    prior double precision not null,
    trials bigint not null,
    successes bigint not null,
    posterior_mean double precision not null,
    primary key (run_date, action_type, channel, segment)
);
comment on table actions.response_rates is
    'Beta-Binomial posterior response probability per action type x channel x segment used by each night.';

create table if not exists actions.uplift_models (
    run_date date not null,
    action_type text not null,
    status text not null,
    count_treated bigint not null,
    count_untreated bigint not null,
    qini_coefficient double precision,
    model_version text,
    detail text,
    primary key (run_date, action_type)
);
-- added with the Qini guard; databases created before it gain the columns here
alter table actions.uplift_models add column if not exists qini_ci_low double precision;
alter table actions.uplift_models add column if not exists qini_ci_high double precision;
alter table actions.uplift_models add column if not exists ranking_method text;
comment on table actions.uplift_models is
    'Per night and action type: which ranking served (ranking_method uplift_two_model or beta_binomial) and why '
    '(status trained: out-of-fold Qini lower 95% bound above 0; qini_not_above_zero: it is not; below_minimum: too '
    'few matured outcomes; failed), on how many matured outcomes, and the out-of-fold Qini with its bootstrap '
    '95% interval (qini_ci_low, qini_ci_high).';

create table if not exists actions.decision_runs (
    run_date date primary key,
    count_candidates bigint not null,
    count_selected bigint not null,
    summary jsonb not null,
    seconds double precision not null,
    decided_at timestamptz not null default now()
);
"""


def ensure_actions_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        conn.execute(DECISIONS_DDL)
        for channel in contract.TABLES:
            conn.execute(contract.ddl(channel))


def record_contract_version(conn: psycopg.Connection) -> None:
    described = {ch: [[c.name, c.pg_type] for c in contract.columns(ch)] for ch in contract.TABLES}
    conn.execute(
        "insert into actions.contract_versions (contract_version, first_published_at, columns) "
        "values (%s, now(), %s) on conflict (contract_version) do nothing",
        (contract.CONTRACT_VERSION, json.dumps(described)),
    )


def table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]
