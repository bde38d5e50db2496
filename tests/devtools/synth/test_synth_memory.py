"""Streaming: memory grows with the customer state arrays, not with the rows written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Runs a command in a fresh interpreter and prints that interpreter's own peak RSS (KiB) last.
MEASURE = """
import resource, sys
{body}
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_mib(body: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE.format(body=body)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1]) / 1024


def test_fifty_thousand_customers_stay_small(tmp_path: Path):
    baseline = peak_rss_mib("import numpy, devtools.synth.simulate")
    out = tmp_path / "big"
    generate = (
        "from devtools.synth.__main__ import main\n"
        f"assert main(['--customers', '50000', '--days', '3', '--seed', '1', '--out', {str(out)!r}, '--quiet']) == 0"
    )
    peak = peak_rss_mib(generate)
    rows = sum(1 for _ in (out / "customers").glob("dt=*/part-00000.csv"))
    assert rows >= 1
    # ~100 B of state per customer plus one chunk of text at a time; holding the 50k-row first-day customer
    # file (or a day of events) in memory at once would cost well over this
    assert peak - baseline < 75, (baseline, peak)
