"""No credentials in the repository: connections come from the environment (CRM_WAREHOUSE_URL) or Airflow
connections (AIRFLOW_CONN_*), never from a file under version control. Greps every tracked and untracked
(not ignored) file for credential patterns."""

from __future__ import annotations

import re
import subprocess

import pytest

from proactive_crm.config import PROJECT_ROOT

PATTERNS = {
    "password in a URL": re.compile(
        # the literal placeholder `user:password@` in documentation is not a credential
        r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!\$\{|\$[A-Z_]|\*{3}|password@)[^/\s@'\"]+@"
    ),
    "password setting": re.compile(
        r"(?i)\b\w*passw(?:or)?d\w*\b[\"']?\s*[:=]\s*(?![\"']?\{\{|[\"']?\$|[\"']?\s*$|[\"']{2}|None\b|os\.environ"
        r"|env\b|unquote\()[\"']?[^\s\"',)]{3,}[\"']?\s*(?:[,;)#]|$)"
    ),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),
}

# (file, text on the line) -> why it may stay. Keep this list short and each reason true.
ALLOWED = {
    (".env.example", "=change-me-"): "placeholders the deployer replaces in .env (git-ignored)",
    (".env.example", ":change-me-crm@"): "the same placeholder inside the example warehouse URL",
    ("deploy/check.py", "def login(self, username: str, password: str)"): "a parameter, not a value",
    ("deploy/check.py", '"password": password}'): "passes the parameter on",
    ("deploy/check.py", "secrets.token_urlsafe(16)"): "a throw-away password generated per run",
    ("deploy/postgres-init.sh", "password :'"): "psql variables filled from the container's environment",
    ("docker-compose.yml", "PASSWORDS_FILE:"): "the path of a file Airflow generates at start",
    ("tests/proactive_crm/test_config_and_warehouse.py", "s%40cret@db.internal"): "made-up URL to test parsing",
    ("tests/test_no_secrets.py", ""): "this file's own examples of what must be caught",
}


def _files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return [f for f in listed if not f.endswith(("constraints.txt", ".png", ".parquet", ".ubj", ".gz"))]


def findings(path: str, text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for name, pattern in PATTERNS.items():
            if pattern.search(line) and not any(f == path and snippet in line for f, snippet in ALLOWED):
                found.append(f"{path}:{number}: {name}: {line.strip()[:120]}")
    return found


@pytest.mark.parametrize(
    "line",
    [
        "export CRM_WAREHOUSE_URL=postgresql://crm:hunter2@db.example.internal:5432/crm",
        "AIRFLOW_CONN_CRM='postgres://crm:s3cr3t@warehouse:5432/crm'",
        '    password: "hunter2"',
        "POSTGRES_PASSWORD: crm",
        "db_password = 'hunter2'",
        "-----BEGIN RSA PRIVATE KEY-----",
        "aws_key = AKIAABCDEFGHIJKLMNOP",
    ],
)
def test_the_patterns_catch_credentials(line: str) -> None:
    assert findings("some/file.txt", line)


@pytest.mark.parametrize(
    "line",
    [
        "      password: \"{{ env_var('CRM_WAREHOUSE_PASSWORD', '') }}\"",
        'export CRM_WAREHOUSE_URL="postgresql://crm:${CRM_DB_PASSWORD}@db.example.internal:5432/crm"',
        '"CRM_WAREHOUSE_PASSWORD": unquote(parsed.password or ""),',
        "postgresql://postgres@127.0.0.1:5432/postgres",
    ],
)
def test_references_to_the_environment_are_not_credentials(line: str) -> None:
    assert findings("some/file.txt", line) == []


def test_the_repository_holds_no_credentials() -> None:
    found = []
    for path in _files():
        full = PROJECT_ROOT / path
        if not full.is_file():
            continue
        try:
            text = full.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += findings(path, text)
    assert found == [], "credentials in the repository (use the environment or Airflow connections):\n" + "\n".join(
        found
    )
