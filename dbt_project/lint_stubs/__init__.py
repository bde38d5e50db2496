"""Stand-ins for what dbt puts in a model's Jinja context, for sqlfluff's jinja templater (``.sqlfluff``).

``make lint`` renders the models without dbt or a warehouse (CONTRIBUTING.md, "SQL lint", says why not the dbt
templater): ``var()`` answers with dbt_project.yml's defaults, ``dbt.*`` with what dbt-postgres renders, and
``adapter`` finds no relation (a model then renders its branch for a missing optional input).
"""

from pathlib import Path
from typing import Any

import yaml

_PROJECT = yaml.safe_load((Path(__file__).resolve().parent.parent / "dbt_project.yml").read_text(encoding="utf-8"))
_VARS: dict[str, Any] = dict(_PROJECT.get("vars") or {})


def var(name: str, default: Any = None) -> Any:
    return _VARS.get(name, default)
