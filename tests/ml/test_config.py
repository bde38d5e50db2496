"""The ml: section of the pipeline configuration (no database)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ml.config import ml_config
from proactive_crm.config import ConfigError, load_settings


def settings_with(tmp_path: Path, ml_yaml: str):
    path = tmp_path / "pipeline.yml"
    path.write_text("store_time_zone: Europe/Berlin\nml:\n" + ml_yaml, encoding="utf-8")
    return load_settings({**os.environ, "CRM_CONFIG": str(path)})


def test_the_project_configuration_is_valid():
    cfg = ml_config(env={})
    assert cfg.horizon_days == 90 and cfg.cold_start.min_customers > 0 and cfg.promotion_margin >= 0
    assert cfg.monotone["churn_risk"]["days_since_last_order"] == 1


def test_models_dir_comes_from_the_environment_first(tmp_path: Path):
    cfg = ml_config(settings_with(tmp_path, "  models_dir: elsewhere\n"), env={"CRM_MODELS_DIR": str(tmp_path / "m")})
    assert cfg.models_dir == tmp_path / "m"


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("  bgnbd_features: maybe\n", "ml.bgnbd_features must be one of"),
        ("  horizon_days: soon\n", "ml.horizon_days must be int"),
        ("  cold_start: {min_orders: 0}\n", "ml.min_orders must be at least 1"),
        ("  monotone: {churn_risk: {days_since_last_order: 2}}\n", "must be -1 or 1"),
        ("  tables: {featurez: x.y}\n", "unknown keys"),
    ],
)
def test_invalid_settings_name_the_key(tmp_path: Path, yaml: str, message: str):
    with pytest.raises(ConfigError, match=message):
        ml_config(settings_with(tmp_path, yaml), env={})


def test_the_cut_off_grain_is_the_warehouse_setting_validated_as_dbt_reads_it(tmp_path: Path):
    """One setting decides the feature mart's history dates (dbt) and which of them are cut-offs (here): a value
    the warehouse would refuse must not quietly fall back to month starts in training."""
    assert ml_config(settings_with(tmp_path, "  horizon_days: 90\n"), env={}).as_of_grain == "month"
    weekly = settings_with(tmp_path, "  horizon_days: 90\nwarehouse:\n  as_of_grain: week\n")
    assert ml_config(weekly, env={}).as_of_grain == "week"
    with pytest.raises(ConfigError, match=r"warehouse\.as_of_grain: must be one of month, week, found 'weekly'"):
        ml_config(settings_with(tmp_path, "  horizon_days: 90\nwarehouse:\n  as_of_grain: weekly\n"), env={})
