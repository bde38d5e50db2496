"""Same arguments, same bytes; another seed, other data; the CLI writes what the API writes."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

from tests.devtools.synth.conftest import END, make_run


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devtools.synth", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        timeout=120,
    )


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path):
    first = snapshot(make_run(tmp_path / "a", customers=200, days=30, seed=3, dirty=True, rate=0.01))
    second = snapshot(make_run(tmp_path / "b", customers=200, days=30, seed=3, dirty=True, rate=0.01))
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    other = snapshot(make_run(tmp_path / "c", customers=200, days=30, seed=4, dirty=True, rate=0.01))
    common = first.keys() & other.keys()
    assert sum(first[k] != other[k] for k in common) > len(common) / 2


def test_gzip_members_carry_no_name_or_time(clean_run: Path):
    for path in (clean_run / "web_events").glob("dt=*/*.jsonl.gz"):
        header = path.read_bytes()[:10]
        assert header[3] & 0x08 == 0, "no original file name stored"
        assert header[4:8] == b"\0\0\0\0", "mtime is zero"
        gzip.decompress(path.read_bytes())


def test_cli_matches_api_and_refuses_to_mix_runs(tmp_path: Path):
    out = tmp_path / "cli"
    args = ["--customers", "150", "--days", "20", "--seed", "8", "--out", str(out), "--end-date", END.isoformat()]
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert "orders" in done.stderr and "rows" in done.stderr  # the summary
    api = make_run(tmp_path / "api", customers=150, days=20, seed=8)
    assert snapshot(out) == snapshot(api)

    again = cli(*args, "--quiet")
    assert again.returncode == 2 and "--overwrite" in again.stderr
    replaced = cli(*args, "--quiet", "--overwrite")
    assert replaced.returncode == 0 and replaced.stderr == ""
    assert snapshot(out) == snapshot(api)


def test_cli_rejects_bad_arguments(tmp_path: Path):
    done = cli("--customers", "0", "--days", "5", "--seed", "1", "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "--customers" in done.stderr
