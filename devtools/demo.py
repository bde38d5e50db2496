"""``make demo``: generate a sample retailer, run the nightly DAG on the embedded warehouse, show what happened.

python -m devtools.demo [--customers 20000] [--days 365] [--seed 42] [--dirty]
python -m devtools.demo --landing DIR --run-date YYYY-MM-DD [--config FILE]   # your own (or adapted) data
python -m devtools.demo --landing DIR [--config FILE] --print-env   # that dataset's settings, for `python -m ml`
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from devtools.local_airflow import RESCORE_SKIPS, dags_test
from expectations.store import format_gate_summary
from ml.evaluation_report import format_model_summary
from proactive_crm.actions.top_actions import format_top_actions
from proactive_crm.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from proactive_crm.kpi_headlines import format_headline_kpis, format_monthly_trend
from proactive_crm.privacy.retention import format_retention_summary
from proactive_crm.run_summary import count_landing_rows, format_load_summary, top_rejection_reasons
from proactive_crm.warehouse import connect, ensure_database, recreate_database, warehouse_url

DEFAULT_END_DATE = date(2026, 10, 31)
# A fresh install trains between two runs of the night, and each task runs in one of them only: the first builds
# the warehouse (and applies retention), training reads it, the re-run scores with the new models, decides, publishes
# and writes the docs and the report. Scoring and deciding with the cold-start rules first would be replaced by the
# re-run's output minutes later (about 40 s on a busy 2-core machine), so the first night leaves them out.
FIRST_NIGHT_SKIPS = (
    "score_customers",
    "decide_actions",
    "actions_gate",
    "publish_actions",
    "dbt_docs",
    "nightly_report",
)
# The re-run marks what the first night did as done: RESCORE_SKIPS less what the first night left to it (dbt docs).
RERUN_SKIPS = tuple(task for task in RESCORE_SKIPS if task not in FIRST_NIGHT_SKIPS)
# The pipeline's own task-log lines (the gates log from expectations.*); library and ml.* lines stay in the log file.
LOG_LINE = re.compile(r"\[(info|warning|error)\s*\] (.*?)\s+\[((?:proactive_crm|expectations)[\w.]*)\]")
AIRFLOW_FAILURE = re.compile(r"(Task failed|DagRun Finished.*state=failed|Traceback|[A-Za-z]+Error:)")


def _step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def generate(out: Path, customers: int, days: int, seed: int, dirty: bool, end_date: date) -> bool:
    """Generate the sample unless the same one is already there (the generator is deterministic per seed).

    Returns True when a new sample was written.
    """
    params = {"customers": customers, "days": days, "seed": seed, "dirty": dirty, "end_date": end_date.isoformat()}
    marker = out / "_truth" / "demo_params.json"
    if marker.exists() and json.loads(marker.read_text()) == params:
        print(f"    sample already generated in {out} ({customers:,} customers, {days} days): reusing it")
        return False
    if out.exists():
        shutil.rmtree(out)
    from devtools.synth import command  # the generator runs in a process of its own

    subprocess.run(command(out, customers, days, seed, end_date, dirty=dirty), check=True)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(params))
    return True


def _show_progress(line: str) -> None:
    match = LOG_LINE.search(line)
    if match:
        print(f"    {match.group(2)}", flush=True)
    elif "Done. PASS=" in line or AIRFLOW_FAILURE.search(line):
        print(f"    {line.strip()[-200:]}", flush=True)


def _never_trained() -> bool:
    """A model without a champion and without any training on record: a fresh install (or a new dataset).

    A model trained before and not promoted (too little history, no better than its baselines) is not retrained on
    every demo run; the weekly crm_train DAG or `python -m ml train` does that.
    """
    from ml.config import MODEL_NAMES, ml_config
    from ml.registry import champion, last_training

    cfg = ml_config()
    return any(champion(cfg, model) is None and last_training(cfg, model) is None for model in MODEL_NAMES)


def _train_and_rerun(settings: Settings, run_date: date, night_log: Path) -> int:
    """A fresh install has no models: train them now (the weekly crm_train DAG) and run the rest of the night with
    them, so the first run shows models and their scores rather than only the cold-start rules."""
    _step("First run: training the models (crm_train), then the rest of the night with them")
    train_log = settings.state_dir / "logs" / f"crm_train_{run_date}.log"
    train_started = datetime.now(UTC).replace(microsecond=0)
    train_code = dags_test("crm_train", run_date, settings, train_log, on_line=_show_progress)
    print(f"    full log: {train_log}")
    for line in training_outcomes(since=train_started):
        print(f"    {line}")
    if train_code != 0:  # the night itself passed; a model that trained was promoted all the same (one group each)
        print(f"    crm_train FAILED (exit {train_code}) for the models marked above; see {train_log}", file=sys.stderr)
    # Even without a new champion: tonight's scores then state what serves and why (a baseline, cold start).
    rerun_log = night_log.with_name(f"{night_log.stem}_after_training.log")  # the first night's log stays
    code = dags_test("crm_nightly", run_date, settings, rerun_log, on_line=_show_progress, skip=RERUN_SKIPS)
    print(f"    full log of the re-run: {rerun_log}")
    return code


def training_outcomes(since: datetime) -> list[str]:
    """What the training run started at ``since`` decided per model (trained, cold start, failed, and why), from
    the registry. A record older than ``since`` is an earlier run's: it is not reported as this run's outcome."""
    from ml import serving
    from ml.config import MODEL_NAMES, ml_config
    from ml.promotion import last_decision
    from ml.registry import last_training

    cfg = ml_config()
    lines = []
    for model in MODEL_NAMES:
        status = last_training(cfg, model)
        recorded = status and status.get("recorded_at")
        if not recorded or datetime.fromisoformat(recorded) < since:
            lines.append(f"{model}: this run recorded no training (see the crm_train log)")
            continue
        if status["status"] == "failed":
            lines.append(f"{model}: training FAILED: {status['reason']}")
            continue
        if status["status"] != "trained":
            lines.append(f"{model}: not trained, cold start: {status['reason']}")
            continue
        decision = last_decision(cfg, model) or {"promoted": False, "reason": "no promotion decision recorded"}
        served = (serving.read(cfg, model) or {}).get("method", "rules")
        verdict = "champion" if decision["promoted"] else f"not promoted, {_serves(served)}"
        lines.append(f"{model}: trained {status['version']}, {verdict} ({decision['reason']})")
    return lines


def _serves(method: str) -> str:
    return {"xgboost": "the champion keeps serving", "rules": "the rules serve"}.get(
        method, f"the {method} baseline serves"
    )


def dataset_environment(landing: Path, url: str, settings: Settings) -> dict[str, str]:
    """Own data on the embedded warehouse: a database and a model registry per landing folder, so the data never
    mixes with the sample's and models trained on the sample never score these customers."""
    dataset = "crm_" + re.sub(r"[^a-z0-9]+", "_", landing.name.lower()).strip("_")
    return {
        "CRM_WAREHOUSE_URL": ensure_database(url, dataset),
        "CRM_MODELS_DIR": os.environ.get("CRM_MODELS_DIR") or str(settings.state_dir / "models" / dataset),
        "CRM_LANDING_DIR": str(landing),
        "CRM_CONFIG": str(settings.config_path),
    }


def _print_env(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """The settings the demo uses for this landing folder, as shell exports: `python -m ml` then works on it."""
    if not args.landing:
        parser.error("--print-env needs --landing (the sample demo uses the default settings)")
    landing = args.landing.resolve()
    if args.config:
        os.environ["CRM_CONFIG"] = str(args.config.resolve())
    os.environ["CRM_LANDING_DIR"] = str(landing)
    settings = load_settings()
    embedded = not os.environ.get("CRM_WAREHOUSE_URL")
    env = dataset_environment(landing, warehouse_url(settings), settings) if embedded else {}
    for key in ("CRM_WAREHOUSE_URL", "CRM_MODELS_DIR", "CRM_LANDING_DIR", "CRM_CONFIG"):
        if env.get(key) or os.environ.get(key):
            print(f"export {key}={shlex.quote(env.get(key) or os.environ[key])}")
    return 0


def _own_data_hint(args: argparse.Namespace, embedded: bool) -> None:
    if not (args.landing and embedded):
        return
    landing = args.landing
    option = f" --config {shlex.quote(str(args.config))}" if args.config else ""
    print(
        "\nthis dataset has its own database and model registry; before `python -m ml train|status|score` on it run\n"
        f'    eval "$({sys.executable} -m devtools.demo --landing {shlex.quote(str(landing))}{option} '
        '--print-env)"'
    )


def _load_summary(conn: psycopg.Connection, landing: Path, run_date: date) -> str:
    text = format_load_summary(conn, count_landing_rows(landing, run_date))
    reasons = top_rejection_reasons(conn)
    if reasons:
        text += "\n\nmost frequent rejection reasons (all rows kept in raw.<source>_rejected):"
        text += "".join(f"\n  {count:>7,}  {source}: {reason}" for source, reason, count in reasons)
    return text


def _section(conn: psycopg.Connection, title: str, render: Callable[[psycopg.Connection], str]) -> None:
    """Print one part of the summary; a part whose tables a failed run never built says so instead of crashing."""
    _step(title)
    try:
        print(render(conn))
    except psycopg.errors.UndefinedTable as exc:
        conn.rollback()
        print(f"    not available for this run ({str(exc).splitlines()[0]})")


def _print_report_path(settings: Settings, run_date: date, url: str, not_before: float) -> None:
    """The DAG's last task writes the night's HTML report; after a failed night (no report, or an earlier run's),
    write it here to show how far the night got."""
    from proactive_crm.nightly_report import report_path, write_report

    path = report_path(settings, run_date)
    if not path.exists() or path.stat().st_mtime < not_before:
        try:
            path = write_report(run_date, settings, url)
        except (psycopg.Error, OSError) as exc:
            print(f"\nno nightly report for {run_date}: {exc}", file=sys.stderr)
            return
    print(f"\nnightly report (open in a browser): {path}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=int(os.environ.get("DEMO_CUSTOMERS", 20_000)))
    parser.add_argument("--days", type=int, default=int(os.environ.get("DEMO_DAYS", 365)))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty", action="store_true", help="inject realistic defects into the sample")
    parser.add_argument("--landing", type=Path, help="use this landing folder instead of generating a sample")
    parser.add_argument(
        "--run-date", type=date.fromisoformat, help="business day to run (default: the sample's last day)"
    )
    parser.add_argument("--config", type=Path, help="pipeline configuration (default config/pipeline.yml)")
    parser.add_argument("--no-training", action="store_true", help="do not train models on the first run")
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="with --landing: print the dataset's settings as shell exports (for python -m ml) and exit",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.print_env:
        return _print_env(parser, args)

    started, wall_started = time.perf_counter(), time.time()
    if args.config:
        os.environ["CRM_CONFIG"] = str(args.config.resolve())
    if args.landing:
        landing = args.landing.resolve()
        if args.run_date is None:
            parser.error("--landing needs --run-date (the last business day to load)")
        run_date = args.run_date
    else:
        landing = PROJECT_ROOT / "data" / "demo" / "landing"
        run_date = args.run_date or DEFAULT_END_DATE
        _step(f"Generating a sample retailer: {args.customers:,} customers, {args.days} days, seed {args.seed}")
        fresh_sample = generate(landing, args.customers, args.days, args.seed, args.dirty, DEFAULT_END_DATE)
    os.environ["CRM_LANDING_DIR"] = str(landing)
    settings = load_settings()

    _step("Starting the warehouse")
    embedded = not os.environ.get("CRM_WAREHOUSE_URL")
    url = warehouse_url(settings)
    if embedded and args.landing:
        os.environ.update(dataset_environment(landing, url, settings))
        url = os.environ["CRM_WAREHOUSE_URL"]
        print(f"    models: {os.environ['CRM_MODELS_DIR']}")
    print(f"    {url}" + (" (embedded)" if embedded else ""))
    if not args.landing and fresh_sample:
        if embedded:
            # A different sample must not mix with the previous one's raw rows: start the demo database afresh.
            recreate_database(url)
            print("    new sample: demo database recreated")
        else:
            print(
                "    new sample: rows of an earlier demo sample in this warehouse stay (drop schema raw to start over)"
            )

    _step(f"Running crm_nightly for business day {run_date} (airflow dags test)")
    log_path = settings.state_dir / "logs" / f"crm_nightly_{run_date}.log"
    run_started = time.perf_counter()
    will_train = not args.no_training and _never_trained()
    skip = FIRST_NIGHT_SKIPS if will_train else ()
    try:
        code = dags_test("crm_nightly", run_date, settings, log_path, on_line=_show_progress, skip=skip)
    except ConfigError as exc:  # a run date the DAGs cannot run: nothing ran, so there is nothing to summarise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"    full log: {log_path}")
    if code == 0 and will_train:
        code = _train_and_rerun(settings, run_date, log_path)
    run_seconds = time.perf_counter() - run_started

    with connect(url) as conn:
        _section(conn, "What was loaded", lambda c: _load_summary(c, landing, run_date))
        _section(
            conn,
            "Headline KPIs",
            lambda c: format_headline_kpis(c, run_date, settings.currency)
            + "\n\n"
            + format_monthly_trend(c, run_date, currency=settings.currency),
        )
        _section(conn, "Quality gates", lambda c: format_gate_summary(c, run_date))
        _section(conn, "Models and scores", lambda c: format_model_summary(c, run_date))
        _section(
            conn,
            "Proactive actions: the top actions per channel and why (outbox files under CRM_STATE_DIR/outbox)",
            lambda c: format_top_actions(c, run_date),
        )
        _section(conn, "Retention (README: Privacy)", lambda c: format_retention_summary(c, run_date))

    print(f"\nnightly run: {run_seconds:.0f} s; demo total: {time.perf_counter() - started:.0f} s")
    _own_data_hint(args, embedded)
    _print_report_path(settings, run_date, url, not_before=wall_started)
    if code != 0:
        print(f"\ncrm_nightly FAILED (exit {code}); see {log_path}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
