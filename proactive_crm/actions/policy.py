"""The contact policy: a YAML file (``config/contact_policy.yml``), validated into one frozen object.

``pipeline.yml`` names the file with one key, ``contact_policy``; ``load_policy()`` reads it on demand (never at
import). Every error names the file and the key, and says what is expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from proactive_crm.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from proactive_crm.landing.contract import CONTACT_CHANNELS, RESPONSE_STATUSES

ACTION_TYPES = (
    "service_recovery",
    "replenishment_reminder",
    "maintenance_reminder",
    "cart_recovery",
    "churn_prevention",
    "win_back",
    "cross_sell",
    "vip_recognition",
    "special_date",
    "feedback_request",
)
CONSENTS = ("email", "sms")
ADDRESSES = ("email", "phone")
DEFAULT_POLICY_FILE = "config/contact_policy.yml"


@dataclass(frozen=True)
class SendWindow:
    earliest_hour: int
    latest_hour: int  # exclusive: the last allowed send hour is latest_hour - 1


@dataclass(frozen=True)
class Channel:
    name: str
    consent: str
    address: str
    cost: float
    daily_capacity: int | None
    window: SendWindow


@dataclass(frozen=True)
class ActionType:
    name: str
    description: str
    trigger: dict[str, Any]
    channels: tuple[str, ...]
    high_value_channels: tuple[str, ...]
    prior_response: dict[str, float]
    value: dict[str, float]
    cool_down_days: int
    expires_after_hours: int
    offer: dict[str, Any]
    preempts: bool = False

    def all_channels(self) -> tuple[str, ...]:
        return self.channels + tuple(c for c in self.high_value_channels if c not in self.channels)


@dataclass(frozen=True)
class Policy:
    path: Path
    version: str
    control_share: float
    control_salt: str
    holdout_share: float
    holdout_salt: str
    max_contacts_per_7_days: int
    max_contacts_per_day: int
    window: SendWindow
    default_hour: int
    lead_hours: int
    suppress_channel_on: tuple[str, ...]
    channels: dict[str, Channel]
    high_value_pareto_classes: tuple[str, ...]
    high_value_min_value_90d: float
    response_status: str
    window_days: int
    prior_strength: float
    min_treated: int
    min_untreated: int
    min_expected_value: float
    outbox_dir: str
    action_types: dict[str, ActionType] = field(default_factory=dict)

    def trigger(self, action_type: str, key: str) -> Any:
        return self.action_types[action_type].trigger[key]


class _Reader:
    """Typed access to one mapping of the file, with errors that name the file and the key."""

    def __init__(self, path: Path, where: str, data: Any) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            self.fail(f"must be a mapping, found {type(data).__name__}")
        self.data: dict[str, Any] = data

    def fail(self, message: str, key: str | None = None) -> None:
        where = f"{self.where}.{key}" if key and self.where else (key or self.where)
        raise ConfigError(f"{self.path}: {where}: {message}")

    def sub(self, key: str, default: Any = None) -> _Reader:
        value = self.data.get(key, default if default is not None else {})
        return _Reader(self.path, f"{self.where}.{key}" if self.where else key, value)

    def number(self, key: str, default: Any = None, low: float | None = None, high: float | None = None) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"must be a number, found {value!r}", key)
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(f"must lie in [{low}, {high}], found {value!r}", key)
        return float(value)

    def integer(self, key: str, default: Any = None, low: int | None = None, high: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"must be a whole number, found {value!r}", key)
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(f"must lie in [{low}, {high}], found {value!r}", key)
        return int(value)

    def text(self, key: str, default: Any = None, allowed: tuple[str, ...] | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value:
            self.fail(f"must be a non-empty text, found {value!r}", key)
        if allowed is not None and value not in allowed:
            self.fail(f"must be one of {', '.join(allowed)}, found {value!r}", key)
        return value

    def names(self, key: str, allowed: tuple[str, ...], default: Any = None) -> tuple[str, ...]:
        value = self.data.get(key, default if default is not None else [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"must be a list of names, found {value!r}", key)
        unknown = [v for v in value if v not in allowed]
        if unknown:
            self.fail(f"unknown {', '.join(unknown)}; allowed: {', '.join(allowed)}", key)
        return tuple(value)


def _window(reader: _Reader, default: SendWindow | None = None) -> SendWindow:
    earliest = reader.integer("earliest_hour", default.earliest_hour if default else None, 0, 23)
    latest = reader.integer("latest_hour", default.latest_hour if default else None, 1, 24)
    if latest <= earliest:
        reader.fail(f"latest_hour ({latest}) must be after earliest_hour ({earliest})")
    return SendWindow(earliest, latest)


def _channel(name: str, reader: _Reader, window: SendWindow) -> Channel:
    capacity = reader.data.get("daily_capacity")
    if capacity is not None:
        capacity = reader.integer("daily_capacity", low=0)
    own_window = _window(reader.sub("send_window"), window) if "send_window" in reader.data else window
    if own_window.earliest_hour < window.earliest_hour or own_window.latest_hour > window.latest_hour:
        reader.fail("send_window must lie inside the global send_window (quiet hours apply to every channel)")
    return Channel(
        name=name,
        consent=reader.text("consent", allowed=CONSENTS),
        address=reader.text("address", allowed=ADDRESSES),
        cost=reader.number("cost", low=0),
        daily_capacity=capacity,
        window=own_window,
    )


def _action_type(name: str, reader: _Reader, channels: dict[str, Channel]) -> ActionType:
    allowed = reader.names("channels", tuple(channels))
    high_value = reader.names("high_value_channels", tuple(channels))
    if not allowed:
        reader.fail("needs at least one channel", "channels")
    priors = reader.sub("prior_response")
    prior = {c: priors.number(c, low=0.0, high=1.0) for c in allowed + high_value}
    value = reader.sub("value")
    if not value.data:
        reader.fail("needs a value: {multiplier: x} or {fixed: amount}", "value")
    values = {k: value.number(k, low=0) for k in value.data if k in ("multiplier", "minimum", "fixed")}
    unknown = set(value.data) - {"multiplier", "minimum", "fixed"}
    if unknown:
        value.fail(f"unknown key(s) {', '.join(sorted(unknown))}; use multiplier, minimum or fixed")
    offer = reader.data.get("offer") or {"kind": "none"}
    if not isinstance(offer, dict):
        reader.fail("must be a mapping such as {kind: voucher, amount: 10}", "offer")
    return ActionType(
        name=name,
        description=str(reader.data.get("description", "")),
        trigger=dict(reader.sub("trigger").data),
        channels=allowed,
        high_value_channels=high_value,
        prior_response=prior,
        value=values,
        cool_down_days=reader.integer("cool_down_days", 0, 0),
        expires_after_hours=reader.integer("expires_after_hours", 72, 1),
        offer=dict(offer),
        preempts=bool(reader.data.get("preempts", False)),
    )


def parse_policy(data: Any, path: Path) -> Policy:
    root = _Reader(path, "", data)
    window = _window(root.sub("send_window"))
    send = root.sub("send_window")
    default_hour = send.integer("default_hour", 10, 0, 23)
    channels_reader = root.sub("channels")
    unknown = [c for c in channels_reader.data if c not in CONTACT_CHANNELS]
    if unknown:
        channels_reader.fail(f"unknown channel(s) {', '.join(unknown)}; the landing contract knows {CONTACT_CHANNELS}")
    channels = {name: _channel(name, channels_reader.sub(name), window) for name in channels_reader.data}
    types_reader = root.sub("action_types")
    unknown = [t for t in types_reader.data if t not in ACTION_TYPES]
    if unknown:
        types_reader.fail(f"unknown action type(s) {', '.join(unknown)}; known: {', '.join(ACTION_TYPES)}")
    action_types = {t: _action_type(t, types_reader.sub(t), channels) for t in types_reader.data}
    control, holdout = root.sub("control_group"), root.sub("holdout")
    frequency, learning = root.sub("frequency"), root.sub("learning")
    value = root.sub("high_value")
    return Policy(
        path=path,
        version=str(root.data.get("version", "1")),
        control_share=control.number("share", 0.05, 0.0, 0.5),
        control_salt=control.text("salt", "crm-control-v1"),
        holdout_share=holdout.number("share", 0.10, 0.0, 0.5),
        holdout_salt=holdout.text("salt", "crm-holdout-v1"),
        max_contacts_per_7_days=frequency.integer("max_contacts_per_7_days", 2, 1),
        max_contacts_per_day=frequency.integer("max_contacts_per_day", 1, 1),
        window=window,
        default_hour=default_hour,
        lead_hours=send.integer("lead_hours", 1, 0, 23),
        suppress_channel_on=root.names("suppress_channel_on", RESPONSE_STATUSES),
        channels=channels,
        high_value_pareto_classes=value.names("pareto_classes", ("pareto", "middle", "tail")),
        high_value_min_value_90d=value.number("min_value_90d", 250, 0),
        response_status=learning.text("response_status", "converted", RESPONSE_STATUSES),
        window_days=learning.integer("window_days", 7, 1, 90),
        prior_strength=learning.number("prior_strength", 20, 0.1),
        min_treated=learning.integer("min_treated", 400, 1),
        min_untreated=learning.integer("min_untreated", 150, 1),
        min_expected_value=learning.number("min_expected_value", 0.0),
        outbox_dir=root.sub("outbox").text("dir", "outbox"),
        action_types=action_types,
    )


def policy_path(settings: Settings) -> Path:
    value = settings.raw.get("contact_policy", DEFAULT_POLICY_FILE)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{settings.config_path}: contact_policy must be the path of the contact policy YAML")
    path = Path(value).expanduser()
    if not path.is_absolute():
        # relative to the pipeline configuration first (a retailer keeps both files together), then the project
        beside = settings.config_path.parent / path
        path = beside if beside.exists() else PROJECT_ROOT / path
    return path


def load_policy(settings: Settings | None = None, path: Path | None = None) -> Policy:
    settings = settings or load_settings()
    path = path or policy_path(settings)
    if not path.exists():
        raise ConfigError(
            f"contact policy {path} not found: set contact_policy in {settings.config_path} to an existing file"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_policy(data or {}, path)


def outbox_dir(settings: Settings, policy: Policy) -> Path:
    """``CRM_OUTBOX_DIR``, else the policy's ``outbox.dir`` (relative to ``CRM_STATE_DIR``)."""
    configured = Path(os.environ.get("CRM_OUTBOX_DIR") or policy.outbox_dir).expanduser()
    return configured if configured.is_absolute() else settings.state_dir / configured
