"""Pipeline settings: one place that reads the environment and the configuration file.

Environment (the only places a deployment differs):
- ``CRM_WAREHOUSE_URL``: PostgreSQL URL of the warehouse. Unset: an embedded server under ``CRM_STATE_DIR``.
- ``CRM_LANDING_DIR``: root of the landing partitions (default ``data/landing``).
- ``CRM_STATE_DIR``: local state such as the embedded warehouse and Airflow home (default ``.crm``).
- ``CRM_CONFIG``: the pipeline configuration YAML (default ``config/pipeline.yml``).
Relative paths are resolved against the project root so that Airflow, dbt and tests agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """The configuration is invalid; the message says which key and how to fix it."""


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    state_dir: Path
    config_path: Path
    store_time_zone: str = "UTC"
    currency: str = "EUR"
    value_mappings: dict[str, dict[str, str]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    # The DAGs' start_date: Airflow runs no task for a business day before it (and reports success), so it sits
    # far back by default; set it only to forbid runs before a date.
    history_start_date: date = date(1970, 1, 1)
    # What a night does when store_time_zone differs from the zone the warehouse was built with
    # (proactive_crm/warehouse_calendar.py): "rebuild" (full refresh, logged) or "refuse" (the night fails).
    on_store_time_zone_change: str = "rebuild"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.store_time_zone)

    def section(self, name: str) -> dict[str, Any]:
        """A top-level section of the configuration file (empty when absent)."""
        value = self.raw.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self.config_path}: '{name}' must be a mapping, found {type(value).__name__}")
        return value


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    config_path = _resolve(env.get("CRM_CONFIG", "config/pipeline.yml"))
    if not config_path.exists():
        raise ConfigError(f"configuration file {config_path} not found: set CRM_CONFIG to an existing YAML file")
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: expected a mapping at the top level")

    tz_name = str(raw.get("store_time_zone", "UTC"))
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{config_path}: store_time_zone {tz_name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from exc

    mappings = raw.get("value_mappings") or {}
    if not isinstance(mappings, dict) or not all(isinstance(v, dict) for v in mappings.values()):
        raise ConfigError(f"{config_path}: value_mappings must map '<source>.<column>' to {{from: to}} mappings")
    for key in mappings:
        if "." not in key:
            raise ConfigError(f"{config_path}: value_mappings key {key!r} must be '<source>.<column>'")

    history_start = raw.get("history_start_date", Settings.history_start_date)
    if isinstance(history_start, str):
        try:
            history_start = date.fromisoformat(history_start)
        except ValueError:
            history_start = None
    if not isinstance(history_start, date):
        raise ConfigError(f"{config_path}: history_start_date must be a date YYYY-MM-DD, found {history_start!r}")

    on_zone_change = str(raw.get("on_store_time_zone_change", Settings.on_store_time_zone_change))
    if on_zone_change not in ("rebuild", "refuse"):
        raise ConfigError(
            f"{config_path}: on_store_time_zone_change must be rebuild or refuse, found {on_zone_change!r}"
        )

    return Settings(
        landing_dir=_resolve(env.get("CRM_LANDING_DIR", "data/landing")),
        state_dir=_resolve(env.get("CRM_STATE_DIR", ".crm")),
        config_path=config_path,
        store_time_zone=tz_name,
        currency=str(raw.get("currency", "EUR")),
        value_mappings={k: {str(a): str(b) for a, b in v.items()} for k, v in mappings.items()},
        raw=raw,
        history_start_date=history_start,
        on_store_time_zone_change=on_zone_change,
    )
