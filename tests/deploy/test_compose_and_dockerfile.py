"""The deployment files, checked without a Docker engine: the Compose specification's JSON schema, hadolint, and
the properties the deployment promises (health checks, loopback only, secrets from .env, scalable workers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from proactive_crm.config import PROJECT_ROOT

BIN = Path(sys.executable).parent
COMPOSE = PROJECT_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification_schema():
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path: Path):
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  x:\n    image: redis\n    healthcheck: {interval: 5}\n    restart: sometimes\n")
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1


def test_dockerfile_passes_hadolint():
    done = subprocess.run([str(BIN / "hadolint"), str(PROJECT_ROOT / "Dockerfile")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_builds_on_the_pinned_airflow_image_from_the_lock():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    pinned = next(line.split("==")[1] for line in (PROJECT_ROOT / "constraints.txt").read_text().splitlines()
                  if line.startswith("apache-airflow=="))
    assert f"FROM apache/airflow:{pinned}-python3.11" in dockerfile
    assert "-r requirements.txt -c constraints.txt" in dockerfile


def test_services_topology_health_checks_and_exposure(compose: dict):
    services = compose["services"]
    expected = {"postgres", "redis", "airflow-init", "airflow-apiserver", "airflow-scheduler",
                "airflow-dag-processor", "airflow-triggerer", "airflow-worker"}
    assert expected <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        assert "container_name" not in service, f"{name} cannot be scaled with a fixed container name"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert [name for name, s in services.items() if s.get("ports")] == ["airflow-apiserver"]
    worker = services["airflow-worker"]
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "redis://redis:6379" in worker["environment"]["AIRFLOW__CELERY__BROKER_URL"]
    assert services["airflow-init"]["command"][-1].count("airflow pools set crm_warehouse") == 1


def test_secrets_come_from_an_ignored_env_file(compose: dict):
    text = COMPOSE.read_text()
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET")) and not key.endswith("_FILE"):  # _FILE: a path
                assert str(value).startswith("${"), f"{name}.{key} is written into the compose file"
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    example = (PROJECT_ROOT / ".env.example").read_text()
    for variable in ("POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "CRM_DB_PASSWORD", "AIRFLOW_JWT_SECRET"):
        assert f"${{{variable}" in text and f"{variable}=" in example
    metadata = compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "airflow:" in metadata and metadata.endswith("@postgres:5432/airflow")  # its own role and database
