"""dbt docs of the night: lineage from the landing sources to the outbound tables, with the exposures.

``dbt docs generate --static`` writes one HTML file with the manifest and the catalog inside, which (unlike the
default index.html, which fetches its JSON) opens from the file system; it is copied with the two JSON files to
``<CRM_STATE_DIR>/dbt_docs/`` where the nightly report links to it.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path

from proactive_crm.config import Settings, load_settings

log = logging.getLogger(__name__)


class DocsError(RuntimeError):
    """dbt docs generate failed; the dbt log in CRM_STATE_DIR/dbt/logs says why."""


def generate_docs(run_date: date, settings: Settings | None = None, url: str | None = None) -> Path:
    """Generate the docs (manifest and catalog of the warehouse as built tonight); return the index.html path."""
    from proactive_crm.dbt_runner import run_dbt, target_dir
    from proactive_crm.nightly_report import docs_dir
    from proactive_crm.warehouse import warehouse_url

    settings = settings or load_settings()
    code, _, _ = run_dbt(["docs", "generate", "--static"], url or warehouse_url(settings), settings, run_date)
    target = target_dir(settings)
    static = target / "static_index.html"
    if code != 0 or not static.exists():
        raise DocsError(
            f"dbt docs generate failed (exit {code}, {static} {'exists' if static.exists() else 'missing'}); "
            f"see the dbt log in {settings.state_dir / 'dbt' / 'logs'}"
        )
    out = docs_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(static, out / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(target / name, out / name)
    log.info("dbt docs for %s: %s", run_date, out / "index.html")
    return out / "index.html"
