"""An unreadable contact policy stops the decision step, not the warehouse: the builds share the night's dbt vars,
which come from the policy, and go without them when it cannot be read (tasks.nightly._build_vars)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from proactive_crm.config import ConfigError
from proactive_crm.tasks.nightly import build_layer, decide_actions

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)


def test_an_unreadable_contact_policy_fails_decide_actions_and_not_the_build(
    empty_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    policy = tmp_path / "contact_policy.yml"
    policy.write_text("channels: [email, sms\n", encoding="utf-8")  # the bracket is never closed
    config = tmp_path / "pipeline.yml"
    config.write_text(f"store_time_zone: UTC\ncontact_policy: {policy}\n", encoding="utf-8")
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("CRM_CONFIG", str(config))
    monkeypatch.setenv("CRM_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CRM_STATE_DIR", str(tmp_path / "state"))

    with caplog.at_level(logging.WARNING, logger="proactive_crm.tasks.nightly"):
        built = build_layer("staging", DAY)
    assert built["nodes"] > 0
    assert f"contact policy unreadable, building without the action trigger vars: {policy}: not valid YAML" in (
        caplog.text
    )
    with pytest.raises(ConfigError, match=f"{policy}: not valid YAML"):
        decide_actions(DAY)
