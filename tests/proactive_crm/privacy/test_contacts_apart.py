"""The rejection path keeps contact details out of messages: a rejected customer row's raw text goes to the
restricted schema, its reason names line, column and fault only, and the landing gate's examples in
``quality.validation_results`` never quote a personal value. Through the DAG's ingest task (gate, then loader).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import psycopg
import pytest

from proactive_crm.config import Settings
from proactive_crm.privacy.masking import mask_contact
from proactive_crm.tasks import nightly
from tests.conftest import write_partition

DAY = "2026-10-30"
HEADER = "customer_id,signup_at,consent_email,consent_sms,updated_at,email,phone,first_name,last_name,birth_date\n"
SECRET_EMAIL, SECRET_PHONE = "greta.geheim@example.de", "+4917612399999"
SECRET_NAME, SECRET_BIRTH = "Gretchen", "1984-13-45"


@pytest.fixture
def night(conn: psycopg.Connection, landing: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch):
    conn.execute("drop schema if exists quality cascade")
    conn.execute("drop schema if exists restricted cascade")
    monkeypatch.setenv("CRM_LANDING_DIR", str(landing))
    monkeypatch.setenv("CRM_STATE_DIR", str(settings.state_dir))
    return conn


def test_a_rejected_customer_row_is_kept_restricted_and_quoted_nowhere(
    night: psycopg.Connection, landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = "".join(
        f"C{i},{DAY}T08:00:00Z,true,false,{DAY}T08:00:00Z,c{i}@example.de,+49151000{i:04d},Ann,Lee,1990-01-01\n"
        for i in range(1, 20)
    )
    bad = (
        f"C99,{DAY}T08:00:00Z,true,false,{DAY}T08:00:00Z,{SECRET_EMAIL},{SECRET_PHONE},{SECRET_NAME},Geheim,"
        f"{SECRET_BIRTH}\n"
        f"C98,{DAY}T08:00:00Z,true,false,{DAY}T08:00:00Z,{SECRET_EMAIL},{SECRET_PHONE},{SECRET_NAME}\n"  # short
    )
    write_partition(landing, "customers", DAY, HEADER + good + bad)
    with caplog.at_level(logging.DEBUG):
        result = nightly.ingest("customers", date.fromisoformat(DAY), run_id="privacy")
    assert (result["rows_loaded"], result["rows_rejected"]) == (19, 2)

    rejected = night.execute(
        "select _line_number, raw_record, reason from restricted.customers_rejected order by 1"
    ).fetchall()
    assert [line for line, _, _ in rejected] == [21, 22]
    assert SECRET_EMAIL in rejected[0][1]  # the raw text is kept, for the data steward, in the restricted schema
    assert "birth_date is not a YYYY-MM-DD date" in rejected[0][2]
    assert night.execute("select to_regclass('raw.customers_rejected')").fetchone()[0] is None

    secrets = (SECRET_EMAIL, SECRET_PHONE, SECRET_NAME, SECRET_BIRTH)
    messages = [reason for _, _, reason in rejected] + [r.getMessage() for r in caplog.records]
    quality = night.execute("select coalesce(observed_value, '') || ' ' || coalesce(details::text, '') "
                            "from quality.validation_results").fetchall()
    assert quality, "the landing gate recorded nothing"
    assert any("birth_date" in q for (q,) in quality)  # the gate did see the bad birth date ...
    for text in messages + [q for (q,) in quality]:
        assert not any(s in text for s in secrets), text  # ... and quotes none of the values


def test_the_preview_masks_contact_addresses() -> None:
    assert mask_contact("greta.geheim@example.de") == "g***@example.de"
    assert mask_contact("+4917612399999") == "+49********999"
    assert SECRET_PHONE not in mask_contact(SECRET_PHONE) and mask_contact(None) == "-"
