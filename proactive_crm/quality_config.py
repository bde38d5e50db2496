"""Severity and thresholds of every quality check, from the ``quality:`` section of the pipeline configuration.

A *check* is a family of expectations (``ranges``, ``freshness``, ...). Its settings come from, most specific first:
``quality.<gate>.overrides["<target>.<column>"]``, ``quality.<gate>.overrides["<target>"]``, ``quality.<gate>.<check>``
and the defaults below, so a configuration without a ``quality:`` section gets the documented behaviour.

- ``severity``: ``critical`` (the gate fails its task and stops what depends on it), ``warning`` (recorded, the run
  continues) or ``off`` (not evaluated).
- ``critical_above``: for row-level checks whose severity is ``warning``, the share of failing rows above which the
  check is critical as well. It becomes a second expectation with ``mostly = 1 - critical_above``, which fails
  only when at least ``quality.landing.critical_min_rows`` rows fail.
- anything else is a threshold the check reads (``tolerance_hours``, ``max_psi``, ...).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from proactive_crm.config import ConfigError, Settings

SEVERITIES = ("critical", "warning", "off")

DEFAULTS: dict[str, dict[str, Any]] = {
    "landing": {
        "batch_max_rows": 500_000,
        "critical_min_rows": 10,
        "checks": {
            "required_columns": {"severity": "critical"},
            "readable": {"severity": "warning"},
            "malformed_records": {"severity": "warning", "critical_above": 0.05},
            "required_values": {"severity": "warning", "critical_above": 0.05},
            "types": {"severity": "warning", "critical_above": 0.05},
            "enumerations": {"severity": "warning", "critical_above": 0.05},
            "ranges": {"severity": "warning", "critical_above": 0.05},
            "future_timestamps": {"severity": "warning", "critical_above": 0.05, "tolerance_hours": 24},
            "decimal_places": {"severity": "warning"},
            "unique_ids": {"severity": "warning", "critical_above": 0.2},
            "volume": {
                "severity": "warning",
                "min_ratio": 0.3,
                "max_ratio": 3.0,
                "trailing_partitions": 28,
                "min_history": 7,
                "min_median_rows": 20,
            },
        },
    },
    "warehouse": {
        "checks": {
            "table_exists": {"severity": "critical"},
            "not_empty": {"severity": "critical"},
            "revenue_reconciles": {"severity": "critical", "tolerance": 0.001},
            "order_totals_match_lines": {"severity": "warning", "tolerance": 0.01},
            "freshness": {"severity": "critical", "max_lag_days": 1},
            "feature_drift": {"severity": "warning", "max_psi": 0.25, "features": [], "bins": 10},
        },
    },
    # gate 3: the night's selected actions before they are published (suite: expectations/actions.py)
    "actions": {
        "checks": {
            "consent": {"severity": "critical"},
            "valid_address": {"severity": "critical"},
            "contact_cap": {"severity": "critical"},
            "unique_action_ids": {"severity": "critical"},
            "priority_range": {"severity": "critical"},
            "send_window": {"severity": "critical"},
            "control_group": {"severity": "critical"},
            "holdout": {"severity": "critical"},
            "has_actions": {"severity": "warning"},
        },
    },
}


# Checks that repeated a dbt test and now live only there (one owner per check, CONTRIBUTING.md); a configuration
# that still sets one is told where it went instead of "unknown check".
MOVED_TO_DBT = {
    "kpi_rates": "accepted_range [0, 1] on every *_rate and *_share column (dbt_project/models/marts/kpi/*.yml)",
    "unique_customers": "unique on core.dim_customers.customer_id (dbt_project/models/marts/core/_core__models.yml)",
    "segment_assigned": "not_null and accepted_values on core.dim_customers.rfm_segment (_core__models.yml)",
    "one_segment_per_customer": "unique on core.dim_customers.customer_id: one row, so one segment, per customer",
}


@dataclass(frozen=True)
class CheckConfig:
    name: str
    severity: str
    critical_above: float | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.severity != "off"

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


class QualityConfig:
    """The resolved ``quality:`` section; validated once, when it is built."""

    def __init__(self, section: dict[str, Any] | None = None, origin: str = "quality") -> None:
        self.origin = origin
        section = section or {}
        if not isinstance(section, dict):
            raise ConfigError(f"{origin}: 'quality' must be a mapping")
        unknown_gates = set(section) - set(DEFAULTS)
        if unknown_gates:
            raise ConfigError(
                f"{origin}: unknown gate(s) {', '.join(sorted(unknown_gates))} under quality; "
                f"known: {', '.join(DEFAULTS)}"
            )
        self._gates: dict[str, dict[str, Any]] = {}
        for gate, defaults in DEFAULTS.items():
            self._gates[gate] = self._merge_gate(gate, defaults, section.get(gate) or {})

    @classmethod
    def from_settings(cls, settings: Settings) -> QualityConfig:
        return cls(settings.section("quality"), origin=f"{settings.config_path}: quality")

    def _merge_gate(self, gate: str, defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(given, dict):
            raise ConfigError(f"{self.origin}.{gate} must be a mapping")
        merged = copy.deepcopy(defaults)
        checks = merged["checks"]
        overrides = given.get("overrides") or {}
        for key, value in given.items():
            if key == "overrides":
                continue
            if key in checks or key in MOVED_TO_DBT:
                checks[key] = {**checks.get(key, {}), **self._check_settings(gate, key, value)}
            elif key in merged:
                merged[key] = value
            else:
                raise ConfigError(
                    f"{self.origin}.{gate}.{key} is not a {gate} check or option; "
                    f"checks: {', '.join(checks)}; options: {', '.join(k for k in merged if k != 'checks')}"
                )
        if not isinstance(overrides, dict):
            raise ConfigError(f"{self.origin}.{gate}.overrides must map a target to {{check: settings}}")
        merged["overrides"] = {}
        for target, by_check in overrides.items():
            if not isinstance(by_check, dict):
                raise ConfigError(f"{self.origin}.{gate}.overrides[{target!r}] must map check names to settings")
            merged["overrides"][str(target)] = {
                name: self._check_settings(gate, name, value, checks) for name, value in by_check.items()
            }
        return merged

    def _check_settings(self, gate: str, name: str, value: Any, checks: dict | None = None) -> dict[str, Any]:
        where = f"{self.origin}.{gate}.{name}"
        if name in MOVED_TO_DBT:
            raise ConfigError(
                f"{where}: this check is a dbt test now ({MOVED_TO_DBT[name]}); dbt fails build_warehouse on it "
                "before the gate runs. Remove the key; change the test's severity in the model's YAML instead"
            )
        if checks is not None and name not in checks:
            raise ConfigError(f"{where}: unknown check; {gate} checks are {', '.join(checks)}")
        if isinstance(value, str):  # shorthand: `ranges: critical`
            value = {"severity": value}
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a severity or a mapping such as {{severity: warning}}")
        severity = value.get("severity")
        if severity is not None and severity not in SEVERITIES:
            raise ConfigError(f"{where}.severity is {severity!r}; use one of {', '.join(SEVERITIES)}")
        share = value.get("critical_above")
        if share is not None and not (isinstance(share, int | float) and 0 <= share <= 1):
            raise ConfigError(f"{where}.critical_above is {share!r}; use a share between 0 and 1 (0.05 = 5%)")
        return dict(value)

    def option(self, gate: str, key: str) -> Any:
        return self._gates[gate][key]

    def check(self, gate: str, name: str, target: str | None = None, column: str | None = None) -> CheckConfig:
        settings = dict(self._gates[gate]["checks"][name])
        overrides = self._gates[gate]["overrides"]
        for key in (target, f"{target}.{column}" if target and column else None):
            if key and name in overrides.get(key, {}):
                settings.update(overrides[key][name])
        severity = settings.pop("severity")
        critical_above = settings.pop("critical_above", None)
        return CheckConfig(name, severity, None if severity == "critical" else critical_above, settings)
