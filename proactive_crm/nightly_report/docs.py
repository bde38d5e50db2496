"""dbt docs of the night: lineage from the landing sources to the outbound tables, with the exposures.

``dbt docs generate --static`` writes one HTML file with the manifest and the catalog inside, which (unlike the
default index.html, which fetches its JSON) opens from the file system; it is copied with the two JSON files to
``<CRM_STATE_DIR>/dbt_docs/`` where the nightly report links to it.

The docs describe the project (models, columns, lineage, exposures) and the warehouse's relations and column types,
which change only when the project, the pipeline configuration, dbt or the warehouse change: a night whose
fingerprint of those equals the one the docs were generated with keeps them (``bench-scale``: 16-31 s of dbt
start-up, parsing and catalog queries a night on a busy 2-core machine).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from datetime import date
from pathlib import Path

from proactive_crm.config import Settings, load_settings

log = logging.getLogger(__name__)

FINGERPRINT_FILE = "fingerprint.txt"


class DocsError(RuntimeError):
    """dbt docs generate failed; the dbt log in CRM_STATE_DIR/dbt/logs says why."""


def generate_docs(run_date: date, settings: Settings | None = None, url: str | None = None) -> Path:
    """Generate the docs (manifest and catalog of the warehouse as built tonight); return the index.html path."""
    from proactive_crm.actions.triggers import night_vars
    from proactive_crm.dbt_runner import run_dbt, target_dir
    from proactive_crm.nightly_report import docs_dir
    from proactive_crm.warehouse import warehouse_url

    settings = settings or load_settings()
    url = url or warehouse_url(settings)
    out = docs_dir(settings)
    fingerprint = docs_fingerprint(settings, url)
    if (out / "index.html").exists() and _read(out / FINGERPRINT_FILE) == fingerprint:
        log.info("dbt docs unchanged (same project, configuration, dbt and warehouse): %s", out / "index.html")
        return out / "index.html"
    # The night's dbt vars: the builds and the trigger run passed the same, so dbt reuses their parse.
    code, _, _ = run_dbt(["docs", "generate", "--static"], url, settings, run_date, night_vars(settings, run_date))
    target = target_dir(settings)
    static = target / "static_index.html"
    if code != 0 or not static.exists():
        raise DocsError(
            f"dbt docs generate failed (exit {code}, {static} {'exists' if static.exists() else 'missing'}); "
            f"see the dbt log in {settings.state_dir / 'dbt' / 'logs'}"
        )
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(static, out / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(target / name, out / name)
    (out / FINGERPRINT_FILE).write_text(fingerprint, encoding="utf-8")
    log.info("dbt docs for %s: %s", run_date, out / "index.html")
    return out / "index.html"


def docs_fingerprint(settings: Settings, url: str) -> str:
    """SHA-256 of what the docs are made of: every file of the dbt project (target, logs and packages aside), the
    pipeline configuration, dbt's version and the warehouse (server and database; the password is left out)."""
    from urllib.parse import urlparse

    from dbt.version import __version__ as dbt_version

    from proactive_crm.dbt_runner import DBT_PROJECT_DIR

    digest = hashlib.sha256()
    skipped = {"target", "logs", "dbt_packages"}
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and relative.parts[0] not in skipped:
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    if settings.config_path.exists():
        digest.update(settings.config_path.read_bytes())
    parsed = urlparse(url)
    digest.update(f"{dbt_version}|{parsed.hostname}|{parsed.port}|{parsed.path}|{parsed.query}".encode())
    return digest.hexdigest()


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None
