"""Model registry on the file system: ``<models_dir>/<model>/<version>/`` and a champion pointer per model.

A version directory holds ``model.json`` (XGBoost's native JSON, never pickle), ``metadata.json`` (features and
types, training window, data fingerprint, library versions, parameters), ``metrics.json``, ``report.md`` and its
PNG plots, and ``eval.parquet`` (the evaluation rows, so a later challenger and this model can be compared on
the same data). ``champion.json`` names the version scoring uses, with the history of promotions and rollbacks.
Versions are ``<evaluation cut-off>-<fingerprint>``: the same data, configuration and code give the same version.
Writes go to a temporary name first and are renamed into place, so readers never see half a version.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ml.config import MLConfig

CHAMPION = "champion.json"
LAST_TRAINING = "last_training.json"  # the outcome of the latest training run of a model


class RegistryError(RuntimeError):
    """A version or champion is missing or unusable; the message says which and what to do."""


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: str
    path: Path
    metadata: dict[str, Any]

    @property
    def model_file(self) -> Path:
        """The model that serves: refitted on every label window up to the evaluation cut-off."""
        return self.path / "model.json"

    @property
    def evaluated_model_file(self) -> Path:
        """The model the held-out metrics describe (fitted before the evaluation cut-off): what promotion compares.
        Versions written before serving refits existed have only ``model.json``, which is both."""
        path = self.path / "model_evaluated.json"
        return path if path.exists() else self.model_file


def library_versions() -> dict[str, str]:
    import numpy
    import scipy
    import sklearn
    import xgboost

    return {
        "python": platform.python_version(),
        "xgboost": xgboost.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }


def fingerprint(*parts: Any) -> str:
    """SHA-256 over frames (row hashes, order-sensitive) and JSON-able values."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(",".join(map(str, part.columns)).encode())
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def make_version(eval_cutoff: date, digest: str) -> str:
    return f"{eval_cutoff:%Y%m%d}-{digest[:10]}"


def model_dir(cfg: MLConfig, model: str) -> Path:
    return cfg.models_dir / model


def last_training(cfg: MLConfig, model: str) -> dict[str, Any] | None:
    """The latest training run of the model (run_date, status trained | cold_start, reason, version), or None."""
    path = model_dir(cfg, model) / LAST_TRAINING
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
        json.dump(payload, tmp, indent=2, sort_keys=True, default=str)
        tmp.write("\n")
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, path)


def publish(cfg: MLConfig, model: str, version: str, staging: Path) -> Path:
    """Move a fully written staging directory to its version path (replacing an identical earlier build)."""
    target = model_dir(cfg, model) / version
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, target)
    return target


def staging_dir(cfg: MLConfig, model: str) -> Path:
    root = model_dir(cfg, model)
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    path.chmod(0o755)
    return path


def versions(cfg: MLConfig, model: str) -> list[str]:
    root = model_dir(cfg, model)
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "metadata.json").exists())


def load(cfg: MLConfig, model: str, version: str) -> ModelVersion:
    path = model_dir(cfg, model) / version
    meta = path / "metadata.json"
    if not meta.exists() or not (path / "model.json").exists():
        raise RegistryError(
            f"{model} version {version} not found in {model_dir(cfg, model)} (model.json, metadata.json)"
        )
    return ModelVersion(model, version, path, json.loads(meta.read_text(encoding="utf-8")))


def champion_state(cfg: MLConfig, model: str) -> dict[str, Any]:
    path = model_dir(cfg, model) / CHAMPION
    if not path.exists():
        return {"version": None, "history": []}
    return json.loads(path.read_text(encoding="utf-8"))


def champion(cfg: MLConfig, model: str) -> ModelVersion | None:
    version = champion_state(cfg, model).get("version")
    return load(cfg, model, version) if version else None


def set_champion(cfg: MLConfig, model: str, version: str, event: str, reason: str) -> dict[str, Any]:
    load(cfg, model, version)  # must exist
    state = champion_state(cfg, model)
    entry = {
        "event": event,
        "version": version,
        "previous": state.get("version"),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
    }
    state = {"version": version, "history": [*state.get("history", []), entry]}
    write_json(model_dir(cfg, model) / CHAMPION, state)
    return entry


def _champion_stack(history: list[dict[str, Any]]) -> list[str]:
    """Replay the pointer's history: promotions push a version, a rollback pops back to the version it names."""
    stack: list[str] = []
    for entry in history:
        version = entry["version"]
        if entry["event"] == "rollback" and version in stack:
            del stack[len(stack) - stack[::-1].index(version) :]
        else:
            stack.append(version)
    return stack


def rollback(cfg: MLConfig, model: str, to_version: str | None = None) -> dict[str, Any]:
    """Point the champion back: to ``to_version``, or to the champion before the current one's promotion
    (rolling back again walks further back, never to and fro)."""
    state = champion_state(cfg, model)
    current = state.get("version")
    if current is None:
        raise RegistryError(f"{model} has no champion to roll back")
    if to_version is None:
        stack = _champion_stack(state.get("history", []))
        if len(stack) < 2:
            raise RegistryError(f"{model}: the champion {current} has no predecessor; name a version (--to)")
        to_version = stack[-2]
    if to_version == current:
        raise RegistryError(f"{model}: {to_version} is already the champion")
    return set_champion(cfg, model, to_version, "rollback", f"rolled back from {current}")
