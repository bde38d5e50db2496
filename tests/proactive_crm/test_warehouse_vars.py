"""pipeline.yml's `warehouse:` section reaches dbt as vars; bad values are refused naming the file and the key."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from proactive_crm.config import ConfigError, load_settings
from proactive_crm.dbt_runner import WAREHOUSE_VARS, project_vars, run_dbt, target_dir, warehouse_vars


def _settings(tmp_path: Path, section: str):
    config = tmp_path / "pipeline.yml"
    config.write_text(f"store_time_zone: Europe/Berlin\nwarehouse: {section}\n")
    return load_settings({"CRM_CONFIG": str(config), "CRM_STATE_DIR": str(tmp_path / "state")})


def test_every_settable_var_is_declared_in_the_dbt_project():
    assert set(WAREHOUSE_VARS) <= set(project_vars())


def test_the_section_reaches_dbt_as_vars(tmp_path: Path, warehouse: str):
    settings = _settings(tmp_path, "{active_max_days: 30, at_risk_max_days: 60, calendar_start_date: 2001-02-03}")
    inline = "select {{ var('active_max_days') }}, {{ var('at_risk_max_days') }}, " \
        "'{{ var('calendar_start_date') }}', {{ var('late_data_days') }}"
    code, _, _ = run_dbt(["compile", "--inline", inline, "--quiet"], warehouse, settings)
    assert code == 0
    results = json.loads((target_dir(settings) / "run_results.json").read_text())["results"]
    # Unset keys keep dbt_project.yml's defaults (late_data_days 7).
    assert results[0]["compiled_code"].strip() == f"select 30, 60, '2001-02-03', {project_vars()['late_data_days']}"


def test_a_new_business_day_reaches_dbt_without_a_whole_project_parse(tmp_path: Path, warehouse: str):
    """The night's values (run_date, the trigger settings) reach the models at execution, and a new business day
    re-parses only the YAML that reads run_date: in --vars they made dbt parse the whole project every night."""
    settings = _settings(tmp_path, "{}")
    inline = "select {{ run_date() }}, {{ trigger_param('win_back', 'min_days') }}, {{ decision_at() }}"
    compiled = []
    for night, days in ((date(2026, 3, 1), 30), (date(2026, 3, 2), 45)):
        night_vars = {"action_triggers": {"win_back": {"min_days": days}}, "decision_at": f"{night}T01:00:00+00:00"}
        code, _, _ = run_dbt(["compile", "--inline", inline, "--quiet"], warehouse, settings, night, night_vars)
        assert code == 0
        results = json.loads((target_dir(settings) / "run_results.json").read_text())["results"]
        compiled.append(results[0]["compiled_code"].strip())
    assert compiled == [
        "select cast('2026-03-01' as date), 30, cast('2026-03-01T01:00:00+00:00' as timestamptz)",
        "select cast('2026-03-02' as date), 45, cast('2026-03-02T01:00:00+00:00' as timestamptz)",
    ]
    log = (settings.state_dir / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    second = log[log.rindex("Running with dbt"):]
    assert "Unable to do partial parsing" not in second, second[:2000]
    assert "Partial parsing enabled" in second


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{active_max_day: 30}", r"pipeline.yml: warehouse: unknown key\(s\) active_max_day; allowed: active_max_days"),
        ("{late_data_days: -1}", r"warehouse.late_data_days: must be a whole number of at least 1, found -1"),
        ("{late_data_days: seven}", r"warehouse.late_data_days: must be a whole number of at least 1, found 'seven'"),
        ("{calendar_start_date: soon}", r"warehouse.calendar_start_date: must be a date YYYY-MM-DD, found 'soon'"),
        ("{active_max_days: 200}", r"active_max_days \(200\) must be below at_risk_max_days \(180\)"),
        ("{as_of_grain: daily}", r"warehouse.as_of_grain: must be one of month, week, found 'daily'"),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path: Path, section: str, message: str):
    with pytest.raises(ConfigError, match=message):
        warehouse_vars(_settings(tmp_path, section))
