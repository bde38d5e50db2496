"""Publishing: the contract tables and outbox files of a night, atomically, and only after the actions gate."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from proactive_crm.actions import contract, publish
from proactive_crm.actions.decide import decide
from proactive_crm.actions.publish import PublishError, arrow_schema
from proactive_crm.actions.top_actions import format_top_actions

from .conftest import RUN_DATE, STORE_TZ, create_customers, customer

NEXT = RUN_DATE + timedelta(days=1)


@pytest.fixture
def decided(db, policy) -> psycopg.Connection:
    rows = [customer(i, phone=f"+4917000{i:05d}", has_sms_consent=i % 2 == 0) for i in range(1, 81)]
    rows += [customer(100 + i, pareto_class="tail", lifecycle_status="lapsed", days_since_last_order=400,
                      total_revenue=500) for i in range(20)]
    create_customers(db, rows)
    decide(db, RUN_DATE, policy, STORE_TZ)
    return db


def published(conn: psycopg.Connection, run_date) -> dict[str, list[tuple]]:
    return {
        ch: conn.execute(
            f"select action_id, customer_id, priority_rank from {contract.table_name(ch)} where run_date = %s "
            "order by action_id", (run_date,)
        ).fetchall()
        for ch in contract.TABLES
    }


def test_publish_writes_tables_and_files_under_the_contract(decided, tmp_path: Path) -> None:
    result = publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    selected = decided.execute(
        "select channel, count(*) from actions.decisions where run_date = %s and outcome = 'selected' group by 1",
        (RUN_DATE,),
    ).fetchall()
    assert {k: v for k, v in result.counts.items() if v} == dict(selected)
    for channel in contract.TABLES:
        folder = tmp_path / channel / f"dt={RUN_DATE}"
        manifest = json.loads((folder / "_manifest.json").read_text())
        assert manifest["rows"] == result.counts[channel] and manifest["contract_version"] == contract.CONTRACT_VERSION
        parquet = pq.read_table(folder / "actions.parquet")
        assert parquet.schema.equals(arrow_schema(channel)) and parquet.num_rows == result.counts[channel]
        header = (folder / "actions.csv").read_text().splitlines()[0].split(",")
        assert header == [c.name for c in contract.columns(channel)]
    email = pq.read_table(tmp_path / "email" / f"dt={RUN_DATE}" / "actions.parquet").to_pylist()
    assert email and email[0]["priority_rank"] == 1 and "@" in email[0]["email"]
    payload = json.loads(email[0]["personalisation"])
    assert payload["first_name"] == "Anna" and "offer" in payload
    assert set(json.loads(email[0]["model_versions"])) >= {"churn_risk", "value_90d", "ranking"}


def test_the_database_types_follow_the_contract(decided) -> None:
    publish.check_contract(decided)  # freshly created: in step
    decided.execute("alter table actions.outbound_sms alter column score type double precision")
    with pytest.raises(PublishError, match="outbound_sms.score is double precision, contract 1.0.0 says numeric"):
        publish.check_contract(decided)


def test_a_rerun_publishes_the_same_ids_without_duplicates(decided, tmp_path: Path) -> None:
    publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    first = published(decided, RUN_DATE)
    publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    assert published(decided, RUN_DATE) == first
    assert not list(tmp_path.glob("*/.dt=*"))  # no staging or previous folders left behind


def test_a_failure_mid_publish_leaves_the_previous_batch_intact(decided, policy, tmp_path: Path, monkeypatch) -> None:
    publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    before_tables = published(decided, RUN_DATE)
    before_files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    decided.execute("update core.dim_customers set preferred_contact_hour = 12")  # tonight's batch differs
    decide(decided, RUN_DATE, policy, STORE_TZ)

    real = publish.publish_channel

    def fail_on_sms(conn, channel, *args):
        if channel == "sms":
            raise OSError("disk full while writing the sms outbox")
        return real(conn, channel, *args)

    monkeypatch.setattr(publish, "publish_channel", fail_on_sms)
    with pytest.raises(OSError, match="disk full"):
        publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    assert published(decided, RUN_DATE) == before_tables  # the e-mail table's new rows were rolled back
    after_files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after_files == before_files  # the e-mail folder was swapped back, staging folders removed


def test_a_failure_after_the_folders_were_swapped_puts_them_back(decided, tmp_path: Path, monkeypatch) -> None:
    publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    before_files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    before_tables = published(decided, RUN_DATE)
    real_apply = publish._Swap.apply
    applied = []

    def apply_then_fail(self):
        real_apply(self)
        applied.append(self)
        if len(applied) == 3:
            raise RuntimeError("power cut after the last folder moved")

    monkeypatch.setattr(publish._Swap, "apply", apply_then_fail)
    with pytest.raises(RuntimeError):
        publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before_files
    assert published(decided, RUN_DATE) == before_tables


def test_each_night_is_its_own_batch(decided, policy, tmp_path: Path) -> None:
    publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    decide(decided, NEXT, policy, STORE_TZ)
    publish.publish(decided, NEXT, tmp_path, require_gate=False)
    assert published(decided, RUN_DATE) and (tmp_path / "email" / f"dt={NEXT}" / "_manifest.json").exists()
    ids = [r[0] for rows in published(decided, RUN_DATE).values() for r in rows]
    ids_next = [r[0] for rows in published(decided, NEXT).values() for r in rows]
    assert not set(ids) & set(ids_next)


def test_publish_needs_a_passed_gate(decided, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="has not run"):
        publish.publish(decided, RUN_DATE, tmp_path)
    assert not any(published(decided, RUN_DATE).values())


def test_the_report_shows_the_top_actions_and_the_suppressions(decided, tmp_path: Path) -> None:
    publish.publish(decided, RUN_DATE, tmp_path, require_gate=False)
    text = format_top_actions(decided, RUN_DATE)
    assert "E-mail: top" in text and "why: " in text and "#1 " in text
    assert "suppressed, " in text or "selected" in text
    assert "@example.de" in text and "kunde" not in text  # addresses masked (k***@...), never printed whole


def test_contract_document_is_in_step_with_the_code() -> None:
    document = Path(contract.__file__).with_name("CONTRACT.md")
    assert document.read_text(encoding="utf-8") == contract.markdown(), (
        "regenerate: python -c 'from proactive_crm.actions import contract; print(contract.markdown(), end=\"\")' "
        "> proactive_crm/actions/CONTRACT.md"
    )
