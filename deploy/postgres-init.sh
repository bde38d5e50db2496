#!/bin/bash
# First start of the compose PostgreSQL: two roles and two databases, so Airflow's metadata and the warehouse never
# share credentials. Passwords come from .env (see .env.example); runs once, on an empty data volume.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v crm_pw="$CRM_DB_PASSWORD" <<'SQL'
create role airflow login password :'airflow_pw';
create database airflow owner airflow;
-- CREATEDB: the test suite creates and drops a database of its own when pointed at this server.
create role crm login createdb password :'crm_pw';
create database crm owner crm;
SQL
