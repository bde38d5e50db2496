"""The ``ml:`` section of the pipeline configuration, validated into one frozen object.

``ml_config()`` builds it on demand (never at import). ``CRM_MODELS_DIR`` overrides ``ml.models_dir`` so tests,
benchmarks and a second deployment can keep their own registry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from proactive_crm.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from proactive_crm.dbt_runner import project_vars, warehouse_vars

MODEL_NAMES = ("churn_risk", "next_purchase", "value_90d", "next_purchase_category")
CUSTOMER_MODELS = ("churn_risk", "next_purchase", "value_90d")
BGNBD_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class Tables:
    """Where the models read from (schema-qualified); the benchmark points these at generated tables."""

    features: str = "ml.ml_customer_features"
    orders: str = "core.fct_orders"
    order_lines: str = "core.fct_order_lines"
    products: str = "core.dim_products"
    scores: str = "ml.customer_scores"
    category_scores: str = "ml.customer_category_scores"
    scoring_runs: str = "ml.scoring_runs"


@dataclass(frozen=True)
class ColdStart:
    min_customers: int = 500
    min_orders: int = 2000
    min_history_days: int = 240


# A main metric on fewer events than this ranks methods on noise (Olist's next-purchase C-index once rested on one
# repurchase): the comparison is "not measurable" and decides no promotion (ml.promotion). Events are what the
# metric separates: observed repurchases for the time models, the minority class (churned or stayed) for churn,
# customers with revenue for value. Set by ml.promotion.min_evaluation_events.
MIN_EVALUATION_EVENTS = 30


@dataclass(frozen=True)
class MLConfig:
    models_dir: Path
    horizon_days: int = 90
    cutoff_spacing_months: int = 1
    max_training_cutoffs: int = 12
    max_training_snapshots: int = 2_000_000
    min_history_days_before_cutoff: int = 30
    as_of_grain: str = "month"  # the warehouse's history as-of dates: ml_config reads warehouse.as_of_grain
    scoring_window_days: int = 365
    category_window_days: int = 180
    cold_start: ColdStart = field(default_factory=ColdStart)
    promotion_margin: float = 0.002
    must_beat_baselines: bool = True
    min_evaluation_events: int = MIN_EVALUATION_EVENTS
    bgnbd_features: str = "auto"
    chunk_rows: int = 200_000
    exact_contributions: bool = False
    strict_feature_match: bool = False
    nthread: int = 2
    seed: int = 42
    num_boost_round: int = 600
    early_stopping_rounds: int = 40
    monotone: dict[str, dict[str, int]] = field(default_factory=dict)
    exclude_features: tuple[str, ...] = ()
    tables: Tables = field(default_factory=Tables)

    def with_(self, **changes: Any) -> MLConfig:
        return replace(self, **changes)


def _typed(
    section: dict[str, Any], key: str, kind: type, default: Any, where: str, minimum: float | None = None
) -> Any:
    value = section.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: ml.{key} must be {kind.__name__}, found {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: ml.{key} must be at least {minimum}, found {value!r}")
    return value


def _monotone(raw: Any, where: str) -> dict[str, dict[str, int]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: ml.monotone must map a model name to {{feature: -1|1}}")
    out: dict[str, dict[str, int]] = {}
    for model, constraints in raw.items():
        if model not in MODEL_NAMES or not isinstance(constraints, dict):
            raise ConfigError(f"{where}: ml.monotone.{model}: expected one of {MODEL_NAMES} mapping features to -1|1")
        for feature, sign in constraints.items():
            if sign not in (-1, 1):
                raise ConfigError(f"{where}: ml.monotone.{model}.{feature} must be -1 or 1, found {sign!r}")
        out[model] = {str(k): int(v) for k, v in constraints.items()}
    return out


def ml_config(settings: Settings | None = None, env: dict[str, str] | None = None) -> MLConfig:
    settings = settings or load_settings()
    env = dict(os.environ if env is None else env)
    section = settings.section("ml")
    where = str(settings.config_path)
    d = MLConfig(models_dir=Path("models"))

    models_dir = Path(env.get("CRM_MODELS_DIR") or str(section.get("models_dir", "models"))).expanduser()
    cold = section.get("cold_start") or {}
    promotion = section.get("promotion") or {}
    scoring = section.get("scoring") or {}
    training = section.get("training") or {}
    tables = section.get("tables") or {}
    for name, value in (
        ("cold_start", cold),
        ("promotion", promotion),
        ("scoring", scoring),
        ("training", training),
        ("tables", tables),
    ):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: ml.{name} must be a mapping")
    unknown_tables = set(tables) - set(Tables.__dataclass_fields__)
    if unknown_tables:
        raise ConfigError(f"{where}: ml.tables has unknown keys {sorted(unknown_tables)}")

    bgnbd = str(section.get("bgnbd_features", d.bgnbd_features))
    if bgnbd not in BGNBD_CHOICES:
        raise ConfigError(f"{where}: ml.bgnbd_features must be one of {BGNBD_CHOICES}, found {bgnbd!r}")
    exclude = section.get("exclude_features", [])
    if not isinstance(exclude, list):
        raise ConfigError(f"{where}: ml.exclude_features must be a list of column names")

    # One setting for the warehouse and the models: the dbt var that decides which history as-of dates the feature
    # mart holds also decides which of them are cut-offs. Read as dbt reads it: validated with the other warehouse
    # vars, dbt_project.yml's default when pipeline.yml does not set it.
    as_of_grain = str({**project_vars(), **warehouse_vars(settings)}["as_of_grain"])

    return MLConfig(
        models_dir=models_dir if models_dir.is_absolute() else PROJECT_ROOT / models_dir,
        horizon_days=_typed(section, "horizon_days", int, d.horizon_days, where, 7),
        cutoff_spacing_months=_typed(section, "cutoff_spacing_months", int, d.cutoff_spacing_months, where, 1),
        max_training_cutoffs=_typed(section, "max_training_cutoffs", int, d.max_training_cutoffs, where, 1),
        max_training_snapshots=_typed(training, "max_snapshots", int, d.max_training_snapshots, where, 1000),
        min_history_days_before_cutoff=_typed(
            section, "min_history_days_before_cutoff", int, d.min_history_days_before_cutoff, where, 0
        ),
        as_of_grain=as_of_grain,
        scoring_window_days=_typed(section, "scoring_window_days", int, d.scoring_window_days, where, 1),
        category_window_days=_typed(scoring, "category_window_days", int, d.category_window_days, where, 1),
        cold_start=ColdStart(
            min_customers=_typed(cold, "min_customers", int, ColdStart.min_customers, where, 1),
            min_orders=_typed(cold, "min_orders", int, ColdStart.min_orders, where, 1),
            min_history_days=_typed(cold, "min_history_days", int, ColdStart.min_history_days, where, 1),
        ),
        promotion_margin=_typed(promotion, "margin", float, d.promotion_margin, where, 0.0),
        must_beat_baselines=_typed(promotion, "must_beat_baselines", bool, d.must_beat_baselines, where),
        min_evaluation_events=_typed(promotion, "min_evaluation_events", int, d.min_evaluation_events, where, 0),
        bgnbd_features=bgnbd,
        chunk_rows=_typed(scoring, "chunk_rows", int, d.chunk_rows, where, 1000),
        exact_contributions=_typed(scoring, "exact_contributions", bool, d.exact_contributions, where),
        strict_feature_match=_typed(scoring, "strict_feature_match", bool, d.strict_feature_match, where),
        nthread=_typed(training, "nthread", int, d.nthread, where, 1),
        seed=_typed(training, "seed", int, d.seed, where),
        num_boost_round=_typed(training, "num_boost_round", int, d.num_boost_round, where, 1),
        early_stopping_rounds=_typed(training, "early_stopping_rounds", int, d.early_stopping_rounds, where, 1),
        monotone=_monotone(section.get("monotone", {}), where),
        exclude_features=tuple(str(c) for c in exclude),
        tables=Tables(**{k: str(v) for k, v in tables.items()}),
    )
