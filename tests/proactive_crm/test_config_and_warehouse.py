from __future__ import annotations

from pathlib import Path

import pytest

from proactive_crm.config import PROJECT_ROOT, ConfigError, load_settings
from proactive_crm.warehouse import dbt_env, with_database


def test_defaults_resolve_against_the_project_root():
    settings = load_settings({})
    assert settings.landing_dir == PROJECT_ROOT / "data" / "landing"
    assert settings.state_dir == PROJECT_ROOT / ".crm"
    assert settings.store_time_zone == "Europe/Berlin" and settings.currency == "EUR"


def test_a_bad_time_zone_names_the_file_and_the_key(tmp_path: Path):
    config = tmp_path / "pipeline.yml"
    config.write_text("store_time_zone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match=r"pipeline.yml: store_time_zone 'Mars/Olympus' is not an IANA time zone"):
        load_settings({"CRM_CONFIG": str(config)})


def test_value_mapping_keys_must_name_source_and_column(tmp_path: Path):
    config = tmp_path / "pipeline.yml"
    config.write_text("value_mappings:\n  status: {delivered: completed}\n")
    with pytest.raises(ConfigError, match="must be '<source>.<column>'"):
        load_settings({"CRM_CONFIG": str(config)})


def test_missing_config_file_says_which_variable_to_set(tmp_path: Path):
    with pytest.raises(ConfigError, match="set CRM_CONFIG"):
        load_settings({"CRM_CONFIG": str(tmp_path / "nope.yml")})


def test_dbt_connection_parts_come_from_the_one_url():
    parts = dbt_env("postgresql://crm:s%40cret@db.internal:6543/warehouse")
    assert (parts["CRM_WAREHOUSE_HOST"], parts["CRM_WAREHOUSE_PORT"]) == ("db.internal", "6543")
    assert (parts["CRM_WAREHOUSE_USER"], parts["CRM_WAREHOUSE_PASSWORD"]) == ("crm", "s@cret")
    assert parts["CRM_WAREHOUSE_DBNAME"] == "warehouse"


def test_unix_socket_urls_of_the_embedded_server_are_understood():
    parts = dbt_env("postgresql://postgres:@/crm?host=/work/.crm/warehouse")
    assert parts["CRM_WAREHOUSE_HOST"] == "/work/.crm/warehouse"
    assert parts["CRM_WAREHOUSE_DBNAME"] == "crm" and parts["CRM_WAREHOUSE_USER"] == "postgres"
    assert with_database("postgresql://postgres:@/crm?host=/x", "other") == "postgresql://postgres:@/other?host=/x"


def test_non_postgres_urls_are_refused_with_the_expected_form():
    with pytest.raises(ValueError, match="must start with postgresql://"):
        dbt_env("mysql://root@localhost/crm")
