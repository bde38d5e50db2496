"""The published contract: the three tables the e-mail, SMS and call-centre systems consume, and their files.

One definition for the PostgreSQL DDL, the Parquet schema of the outbox files, the type check that runs before
every publish and ``CONTRACT.md``. A change to a column is a new ``CONTRACT_VERSION`` (semantic versioning: adding
a nullable column is minor, anything else major) with a line in ``CHANGES``; ``actions.contract_versions`` records
which version each database has served since when.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTRACT_VERSION = "1.0.0"
CHANGES = {"1.0.0": "First published version: outbound_email, outbound_sms, call_center_tasks."}
SCHEMA = "actions"


@dataclass(frozen=True)
class ContractColumn:
    name: str
    pg_type: str  # as information_schema.columns.data_type reports it, plus precision for numeric
    arrow: str  # pyarrow type of the Parquet file
    description: str


def _common(address: str, address_description: str) -> tuple[ContractColumn, ...]:
    return (
        ContractColumn("action_id", "text", "string", "Deterministic id of (run_date, customer_id, action_type): "
                       "a re-run of the same night publishes the same id, so consumers de-duplicate on it."),
        ContractColumn("run_date", "date", "date32", "Business day whose data the decision used."),
        ContractColumn("as_of_date", "date", "date32", "Day the action is for (run_date + 1)."),
        ContractColumn("customer_id", "text", "string", "The retailer's customer id."),
        ContractColumn(address, "text", "string", address_description),
        ContractColumn("action_type", "text", "string", "service_recovery, replenishment_reminder, "
                       "maintenance_reminder, cart_recovery, churn_prevention, win_back, cross_sell, "
                       "vip_recognition, special_date or feedback_request."),
        ContractColumn("priority_rank", "integer", "int32", "1 = most valuable action of this channel and run date."),
        ContractColumn("score", "numeric(14,4)", "decimal128(14,4)", "Expected value of the contact in the store "
                       "currency: response probability (or uplift) x value at stake - contact cost."),
        ContractColumn("reason", "text", "string", "Readable reason: the trigger, the model reason codes and the "
                       "ranking method."),
        ContractColumn("template_id", "text", "string", "Template to render: <action_type>.<channel>."),
        ContractColumn("personalisation", "jsonb", "string", "JSON object: first_name, products [{product_id, "
                       "name, category, price}], offer {kind, amount, currency}, trigger {code, date}."),
        ContractColumn("send_after", "timestamp with time zone", "timestamp[us, tz=UTC]", "Earliest send/call "
                       "time (UTC): the customer's preferred contact hour inside the allowed local window."),
        ContractColumn("expires_at", "timestamp with time zone", "timestamp[us, tz=UTC]", "Do not send/call "
                       "after this time (UTC)."),
        ContractColumn("model_versions", "jsonb", "string", "JSON object: model name -> version (or 'rules') of "
                       "every score and ranking model behind the decision."),
        ContractColumn("ranking_method", "text", "string", "beta_binomial_prior, beta_binomial or "
                       "uplift_two_model: how the priority was computed."),
        ContractColumn("contract_version", "text", "string", "Version of this contract the row follows."),
        ContractColumn("published_at", "timestamp with time zone", "timestamp[us, tz=UTC]", "When the batch "
                       "was published (the same for every row of a run date)."),
    )


TIME_ZONE = ContractColumn("time_zone", "text", "string", "IANA time zone of the customer, for the agent.")
EMAIL_ADDRESS = "E-mail address of the customer (consent checked, syntax validated)."
PHONE_ADDRESS = "Phone number of the customer in E.164 (consent checked)."

# channel -> (table, columns)
TABLES: dict[str, tuple[str, tuple[ContractColumn, ...]]] = {
    "email": ("outbound_email", _common("email", EMAIL_ADDRESS)),
    "sms": ("outbound_sms", _common("phone", PHONE_ADDRESS)),
    "call_center": ("call_center_tasks", (*_common("phone", PHONE_ADDRESS), TIME_ZONE)),
}
ADDRESS_COLUMN = {"email": "email", "sms": "phone", "call_center": "phone"}


def table_name(channel: str) -> str:
    return f"{SCHEMA}.{TABLES[channel][0]}"


def columns(channel: str) -> tuple[ContractColumn, ...]:
    return TABLES[channel][1]


def ddl(channel: str) -> str:
    name = table_name(channel)
    body = ",\n    ".join(f"{c.name} {c.pg_type} not null" for c in columns(channel))
    comments = "\n".join(
        f"comment on column {name}.{c.name} is '{c.description.replace(chr(39), chr(39) * 2)}';"
        for c in columns(channel)
    )
    return (
        f"create table if not exists {name} (\n    {body},\n    primary key (action_id)\n);\n"
        f"create index if not exists {TABLES[channel][0]}_run_date_idx on {name} (run_date);\n"
        f"comment on table {name} is 'Published {channel} actions, contract {CONTRACT_VERSION}: one batch per "
        f"run_date, replaced atomically by a re-run (proactive_crm/actions/CONTRACT.md).';\n{comments}\n"
    )


def observed_type(data_type: str, precision: int | None, scale: int | None) -> str:
    if data_type == "numeric" and precision is not None:
        return f"numeric({precision},{scale or 0})"
    return data_type


def type_mismatches(channel: str, observed: dict[str, str]) -> list[str]:
    """What differs between a table in the database and the contract (empty when they agree)."""
    problems = []
    expected = {c.name: c.pg_type for c in columns(channel)}
    for name, kind in expected.items():
        if name not in observed:
            problems.append(f"{table_name(channel)}.{name} is missing (contract {CONTRACT_VERSION}: {kind})")
        elif observed[name] != kind:
            problems.append(
                f"{table_name(channel)}.{name} is {observed[name]}, contract {CONTRACT_VERSION} says {kind}"
            )
    for name in observed.keys() - expected.keys():
        problems.append(f"{table_name(channel)}.{name} is not in contract {CONTRACT_VERSION}")
    return problems


def markdown() -> str:
    """The contract as a document (CONTRACT.md is generated from this and checked by a test)."""
    lines = [
        f"# Published actions contract, version {CONTRACT_VERSION}",
        "",
        "Generated from `proactive_crm/actions/contract.py` (a test keeps this file in step). Tables in schema",
        "`actions` of the warehouse, one batch per `run_date`, published in one transaction after the actions",
        "quality gate: a consumer never sees half a batch, and a failed night leaves the previous batches as they",
        "were. The same batch is written as files (CSV with a header, and Parquet with the types below) to",
        "`<outbox>/<channel>/dt=<run_date>/actions.{csv,parquet}`; `_manifest.json` is written last (row count,",
        "contract version, SHA-256 of each file), so a file consumer waits for the manifest. A re-run of a night",
        "replaces that night's batch; `action_id` stays the same for the same customer, action type and night.",
        "",
        "Versioning: adding a nullable column is a minor version, any other change a major one; each version is",
        "recorded in `actions.contract_versions` when a database first publishes with it.",
        "",
    ]
    for channel, (table, cols) in TABLES.items():
        lines += [f"## `{SCHEMA}.{table}` ({channel})", "", "| column | PostgreSQL | Parquet | meaning |",
                  "|---|---|---|---|"]
        lines += [f"| `{c.name}` | {c.pg_type} | {c.arrow} | {c.description} |" for c in cols]
        lines.append("")
    lines += ["## Changes", ""] + [f"- {v}: {text}" for v, text in CHANGES.items()]
    return "\n".join(lines) + "\n"
