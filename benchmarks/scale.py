"""A whole night at retailer scale: the first full load and build, one incremental night, a full rebuild.

    .venv/bin/python benchmarks/scale.py [--preset small|medium|full] [--customers N] [--days D] [--seed S]
                                         [--train | --no-train] [--keep]

Generates a retailer with the project's own generator (``devtools.synth``: a day loop that writes each day's
partitions and forgets them, so memory stays bounded by the per-customer state), or reuses the one an earlier run
generated with the same parameters (under ``CRM_STATE_DIR/bench-scale/``). Then, in a scratch database on the
configured warehouse (the embedded server unless ``CRM_WAREHOUSE_URL`` is set):

1. **first night**: every step of ``crm_nightly`` for the day before the last (all the history is new);
2. optionally the weekly training (crm_train's train and promote for each model), so the next nights score with
   the models that beat their baselines, not the cold-start baseline;
3. **incremental night**: every step again after one new day, as a night in production does;
4. **full rebuild**: the same night with ``build_warehouse(full_refresh=True)`` (every incremental model rebuilt).

Each step runs in a process of its own (as Airflow runs each task), through the function the DAG calls, so the
figures include imports and dbt's start-up. Per step: wall seconds, rows, the peak RSS of the step's process
tree (``wait4``) and of PostgreSQL (the summed PSS of the server's processes, sampled every 0.2 s), and the share
of the night. Then the incremental / full ratios. Benchmarks print figures; nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 10, 31)
# Sizes: full is the retailer of issue 14 (1,000,000 customers over a year); the generator decides how many orders
# and web events they make (its behaviour, not a quota), and the table prints the counts it wrote.
PRESETS = {"small": (20_000, 365), "medium": (100_000, 365), "full": (1_000_000, 365)}
# The steps of crm_nightly in DAG order, each the function the DAG task calls (dags/crm_nightly.py).
NIGHT_STEPS = (
    "ensure_roles",
    "ingest",
    "build_staging",
    "build_warehouse",
    "warehouse_gate",
    "score_customers",
    "decide_actions",
    "actions_gate",
    "publish_actions",
    "apply_retention",
    "dbt_docs",
    "nightly_report",
)


# -- one step, in the child process ------------------------------------------------------------------------------
def run_step(step: str, run_date: date, full_refresh: bool) -> object:  # noqa: C901 - one branch per DAG task
    """Call what the DAG task calls and return its result (printed as JSON for the parent)."""
    if step == "ensure_roles":
        from proactive_crm.tasks.nightly import ensure_roles

        return ensure_roles()
    if step == "ingest":
        from proactive_crm.landing.contract import SOURCES
        from proactive_crm.tasks.nightly import ingest

        return [ingest(source, run_date) for source in SOURCES]
    if step == "build_staging":
        from proactive_crm.tasks.nightly import build_layer

        return build_layer("staging", run_date)
    if step == "build_warehouse":
        from proactive_crm.tasks.nightly import build_warehouse

        return build_warehouse(run_date, full_refresh=full_refresh)
    if step == "warehouse_gate":
        from proactive_crm.tasks.nightly import warehouse_gate

        return warehouse_gate(run_date)
    if step == "score_customers":
        from proactive_crm.tasks.nightly import score_nightly

        return score_nightly(run_date)
    if step in ("decide_actions", "actions_gate", "publish_actions", "apply_retention"):
        from proactive_crm.tasks import nightly

        return getattr(nightly, step)(run_date)
    if step == "dbt_docs":
        from proactive_crm.nightly_report.docs import generate_docs

        return str(generate_docs(run_date))
    if step == "nightly_report":
        from proactive_crm.nightly_report import write_report

        return str(write_report(run_date))
    if step == "train":
        # crm_train's two tasks per model: without the promotion the next nights would still score with the
        # cold-start baseline (the figures up to 2026-12-07 were taken so: "no champion model yet").
        from ml.config import MODEL_NAMES
        from proactive_crm.tasks.train import promote_result, train_model

        decisions = [promote_result(train_model(model, run_date)) for model in MODEL_NAMES]
        return sum(bool(d.get("promoted")) for d in decisions)  # the rows column: models promoted
    raise SystemExit(f"unknown step {step!r}; one of {', '.join(NIGHT_STEPS)}, train")


# -- measuring, in the parent -------------------------------------------------------------------------------------
@dataclass
class StepFigures:
    phase: str
    step: str
    seconds: float
    rows: int | None
    peak_rss_mb: float
    peak_pg_mb: float | None
    note: str = ""


class PostgresMemory:
    """Peak summed PSS of the warehouse server's processes (postmaster and backends) while a step runs."""

    def __init__(self, postmaster_pid: int | None) -> None:
        self.pid = postmaster_pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> float:
        import psutil

        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0
        for process in processes:
            try:
                total += process.memory_full_info().pss  # shared buffers counted once across backends
            except psutil.Error:
                continue
        return total / 2**20

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.2)

    def __enter__(self) -> PostgresMemory:
        if self.pid is not None:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def postmaster_pid(url: str) -> int | None:
    """The embedded server's postmaster (its data directory holds postmaster.pid); None for a remote server."""
    socket_dir = parse_qs(urlparse(url).query).get("host", [""])[0]
    pid_file = Path(socket_dir) / "postmaster.pid" if socket_dir else None
    if pid_file is None or not pid_file.exists():
        return None
    return int(pid_file.read_text().split()[0])


def rows_of(step: str, result: object) -> int | None:
    """The step's own count of what it did, from the dict(s) its task function returns."""
    if step == "ingest" and isinstance(result, list):
        return sum(int(r.get("rows_loaded", 0)) for r in result)
    if step == "score_customers" and isinstance(result, list):
        return sum(int(r.get("rows", 0)) for r in result if isinstance(r, dict)) or None
    if step == "decide_actions" and isinstance(result, dict):
        return int(result.get("candidates", 0))
    if step == "publish_actions" and isinstance(result, dict):
        return sum(int(n) for n in (result.get("published") or {}).values())
    if step == "train" and isinstance(result, int):
        return result  # models promoted
    if step == "apply_retention" and isinstance(result, dict):
        return sum(v for v in result.values() if isinstance(v, int))
    return None


def dbt_rows(state_dir: Path) -> int | None:
    """Rows dbt's models wrote in its last invocation (run_results.json), for the build steps."""
    path = state_dir / "dbt" / "target" / "run_results.json"
    if not path.exists():
        return None
    results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    return sum(int((r.get("adapter_response") or {}).get("rows_affected") or 0) for r in results)


def measure(phase: str, step: str, run_date: date, env: dict[str, str], full_refresh: bool = False) -> StepFigures:
    command = [sys.executable, __file__, "--step", step, "--date", run_date.isoformat()]
    if full_refresh:
        command.append("--full-refresh")
    log_path = Path(env["CRM_STATE_DIR"]) / "logs" / f"{phase.replace(' ', '_')}_{step}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with PostgresMemory(postmaster_pid(env["CRM_WAREHOUSE_URL"])) as pg, log_path.open("w") as log:
        out, code, peak_child = wait_measured(command, env, stdout=subprocess.PIPE, stderr=log)
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{phase}: {step} failed (exit {code}); log: {log_path}")
    result = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    rows = dbt_rows(Path(env["CRM_STATE_DIR"])) if step.startswith("build_") else rows_of(step, result)
    figures = StepFigures(phase, step, seconds, rows, peak_child, pg.peak or None)
    print(
        f"  {phase:<12} {step:<16} {seconds:8.1f} s  rows {rows if rows is not None else '-':>11}  "
        f"peak {figures.peak_rss_mb:6.0f} MB  postgres {figures.peak_pg_mb or 0:6.0f} MB",
        flush=True,
    )
    return figures


def wait_measured(command: list[str], env: dict[str, str], **popen: object) -> tuple[str, int, float]:
    """Run a child to its end: its stdout (when piped), exit code and the peak RSS in MB of its process tree.

    ``wait4`` on the child's pid reports the largest RSS of the child and of the descendants it waited for
    (dbt runs in a grandchild); Popen must not reap the child first, so stdout is read here and not through
    ``communicate``.
    """
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, text=True, **popen)  # type: ignore[call-overload]
    out = process.stdout.read() if process.stdout is not None else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return out, process.returncode, usage.ru_maxrss / 1024


# -- the run -------------------------------------------------------------------------------------------------------
def generate(landing: Path, customers: int, days: int, seed: int) -> str:
    """Write the retailer unless the same one is there already (the generator is deterministic per seed)."""
    params = {"customers": customers, "days": days, "seed": seed, "end_date": END.isoformat()}
    marker = landing / "_truth" / "scale_params.json"
    if marker.exists() and json.loads(marker.read_text()) == params:
        return "reused from an earlier run"
    from devtools.synth import command

    started = time.perf_counter()
    _, code, peak = wait_measured(command(landing, customers, days, seed, END, overwrite=True), dict(os.environ))
    if code != 0:
        raise SystemExit(f"the generator failed (exit {code})")
    marker.write_text(json.dumps(params))
    return f"generated in {time.perf_counter() - started:.0f} s, peak RSS {peak:.0f} MB"


def landing_rows(landing: Path) -> dict[str, int]:
    """Data rows per source in the landing folder, counted as the demo counts them (gzip and JSONL included)."""
    from proactive_crm.run_summary import count_landing_rows

    counts = count_landing_rows(landing, END)
    return {source: counts.get(source, 0) for source in ("customers", "orders", "order_lines", "web_events")}


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} cores ({cpu}), {memory / 2**20:.1f} GiB RAM, Python {platform.python_version()}"


def night(phase: str, run_date: date, env: dict[str, str], full_refresh: bool = False) -> list[StepFigures]:
    print(f"\n{phase} ({run_date}):", flush=True)
    return [measure(phase, step, run_date, env, full_refresh and step == "build_warehouse") for step in NIGHT_STEPS]


def table(phase: str, figures: list[StepFigures]) -> list[str]:
    total = sum(f.seconds for f in figures)
    lines = [
        f"**{phase}**: {total:.1f} s",
        "",
        "| step | wall s | rows | peak RSS MB (step) | peak PSS MB (PostgreSQL) | share of the night |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        rows = f"{f.rows:,}" if f.rows is not None else ""
        pg = f"{f.peak_pg_mb:.0f}" if f.peak_pg_mb else "n/a"
        lines.append(f"| {f.step} | {f.seconds:.1f} | {rows} | {f.peak_rss_mb:.0f} | {pg} | {f.seconds / total:.0%} |")
    return lines


def ratios(incremental: list[StepFigures], full: list[StepFigures]) -> list[str]:
    def seconds(figures: list[StepFigures], step: str | None = None) -> float:
        return sum(f.seconds for f in figures if step is None or f.step == step)

    lines = ["| incremental / full rebuild | incremental s | full s | ratio |", "|---|---:|---:|---:|"]
    for label, step in (("whole night", None), ("build_warehouse", "build_warehouse")):
        inc, ful = seconds(incremental, step), seconds(full, step)
        lines.append(f"| {label} | {inc:.1f} | {ful:.1f} | {inc / ful:.2f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument("--customers", type=int, help="overrides the preset")
    parser.add_argument("--days", type=int, help="overrides the preset")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--train",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train the models after the first night, so later nights score with them (default on)",
    )
    parser.add_argument("--out", type=Path, help="also write the tables (markdown) to this file")
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: run one step in this process
    parser.add_argument("--date", type=date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--full-refresh", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        import logging

        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        print(json.dumps(run_step(args.step, args.date, args.full_refresh), default=str))
        return 0

    from proactive_crm.warehouse import ensure_database, warehouse_url, with_database

    customers, days = args.customers or PRESETS[args.preset][0], args.days or PRESETS[args.preset][1]
    name = f"{customers}c_{days}d_s{args.seed}"
    root = PROJECT_ROOT / ".crm" / "bench-scale" / name
    landing = root / "landing"
    load_before = os.getloadavg()
    print(f"retailer {name}: {generate(landing, customers, days, args.seed)}", flush=True)
    landed = landing_rows(landing)
    print("landing rows: " + ", ".join(f"{k} {v:,}" for k, v in landed.items()), flush=True)

    url = ensure_database(warehouse_url(), f"crm_scale_{uuid.uuid4().hex[:8]}")
    state = root / "state"
    env = {
        **os.environ,
        "CRM_WAREHOUSE_URL": url,
        "CRM_LANDING_DIR": str(landing),
        "CRM_STATE_DIR": str(state),
        "CRM_MODELS_DIR": str(state / "models"),
        "DBT_QUIET": "true",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    try:
        first = night("first night", END - timedelta(days=1), env)
        trained = measure("weekly", "train", END - timedelta(days=1), env) if args.train else None
        incremental = night("incremental", END, env)
        full = night("full rebuild", END, env, full_refresh=True)
    finally:
        with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
            admin.execute(f'drop database if exists "{urlparse(url).path.lstrip("/")}" with (force)')
    load_after = os.getloadavg()

    out = [
        f"`benchmarks/scale.py {' '.join(sys.argv[1:])}`: {customers:,} customers, {days} days "
        f"(seed {args.seed}); landing rows: " + ", ".join(f"{k} {v:,}" for k, v in landed.items()) + ".",
        "",
        f"Machine: {machine()}; load average {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end.",
        "",
    ]
    if trained is not None:
        out += [
            f"Weekly training between the nights (not part of a night): {trained.seconds:.0f} s, "
            f"peak RSS {trained.peak_rss_mb:.0f} MB.",
            "",
        ]
    for phase, figures in (("first night", first), ("incremental night", incremental), ("full rebuild", full)):
        out += table(phase, figures) + [""]
    out += ratios(incremental, full)
    text = "\n".join(out)
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
