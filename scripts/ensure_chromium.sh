#!/usr/bin/env bash
# Debian's chromium for the report's browser test (in tests/integration/test_nightly_dag.py), which drives it
# through Playwright's Python package (never `playwright install`: no browser download is needed or possible).
# Idempotent: does nothing when chromium is already on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing: install Debian's chromium package (apt-get install -y chromium) as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
