"""The 30-night closed loop: does the effectiveness mart find the effect the response simulator planted?

    .venv/bin/python benchmarks/actions_loop.py [--customers 5000] [--nights 30] [--control-share 0.15]
        [--holdout-share 0.25] [--with-landing-gate] [--keep]

The policy's defaults (5% control group, 10% holdouts) are sized for a retailer's volume; on 5,000 generated
customers they leave a few hundred untreated outcomes in 30 nights, too few to resolve effects of a few percentage
points, so this benchmark enlarges both groups by default (pass the policy's values to see the difference).

Generates a retailer whose history ends ``window_days`` after the last looped night, then runs night after night:
load the landing files -> dbt build -> decide_actions -> actions_gate -> publish_actions -> simulated responses
(``devtools.synth.responses``, written back into the landing folder, loaded the next night). After the last
night's measurement window the warehouse is built once more and actions.action_effectiveness is printed: per action
type and channel the funnel, the retention uplift of treated over untreated customers (control group + holdout)
with its 95% interval, and the response count of untreated customers (0: nobody untreated was contacted). Runs in
its own database ``crm_bench_loop`` (dropped unless --keep) and a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import yaml

from proactive_crm.config import PROJECT_ROOT, load_settings
from proactive_crm.warehouse import recreate_database, warehouse_url, with_database

END = date(2026, 10, 31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--history-days", type=int, default=150, help="days generated before the first night")
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--control-share", type=float, default=0.15, help="control_group.share (policy: 0.05)")
    parser.add_argument("--holdout-share", type=float, default=0.25, help="holdout.share (policy: 0.10)")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--with-landing-gate", action="store_true", help="run gate 1 on every load (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="crm_actions_loop_"))
    policy = yaml.safe_load((PROJECT_ROOT / "config" / "contact_policy.yml").read_text())
    policy["control_group"]["share"] = args.control_share
    policy["holdout"]["share"] = args.holdout_share
    window = int(policy["learning"]["window_days"])
    (root / "contact_policy.yml").write_text(yaml.safe_dump(policy))
    pipeline = yaml.safe_load((PROJECT_ROOT / "config" / "pipeline.yml").read_text())
    pipeline["contact_policy"] = str(root / "contact_policy.yml")
    (root / "pipeline.yml").write_text(yaml.safe_dump(pipeline))

    last = END - timedelta(days=window)
    first = last - timedelta(days=args.nights - 1)
    server = warehouse_url(load_settings({**os.environ, "CRM_STATE_DIR": str(PROJECT_ROOT / ".crm")}))
    url = with_database(server, "crm_bench_loop")
    recreate_database(url)
    os.environ.update(CRM_WAREHOUSE_URL=url, CRM_LANDING_DIR=str(root / "landing"), CRM_STATE_DIR=str(root / "state"),
                      CRM_OUTBOX_DIR=str(root / "outbox"), CRM_CONFIG=str(root / "pipeline.yml"),
                      CRM_TASK_RETRIES="0")

    from devtools.simulation import format_uplift_table, placebo_line, run_loop, uplift_table
    from devtools.synth.config import SynthConfig
    from devtools.synth.simulate import generate

    started = time.perf_counter()
    days = (END - first).days + args.history_days
    generate(SynthConfig(customers=args.customers, days=days, seed=args.seed, out_dir=root / "landing", end_date=END,
                         quiet=True))
    print(f"generated {args.customers:,} customers x {days} days in {time.perf_counter() - started:.0f} s; "
          f"nights {first} .. {last}, measured on {END} (window {window} days), files under {root}", flush=True)
    result = run_loop(first, last, END, root / "outbox", seed=args.seed,
                      with_landing_gate=args.with_landing_gate, say=lambda line: print(line, flush=True))
    with psycopg.connect(url) as conn:
        print()
        print(format_uplift_table(uplift_table(conn)))
        print(placebo_line(conn))
        ranking = conn.execute(
            "select action_type, status, count_treated, count_untreated, round(qini_coefficient::numeric, 3) "
            "from actions.uplift_models where run_date = %s order by action_type", (last,)
        ).fetchall()
    print("\nranking on the last night (uplift learner once enough matured outcomes):")
    for action_type, status, treated, untreated, qini in ranking:
        print(f"  {action_type:<23} {status:<14} treated {treated:>6,} untreated {untreated:>6,}  Qini {qini}")
    print("\nseconds per step over all nights: " + ", ".join(f"{k} {v:.0f}" for k, v in result.seconds.items()))
    print(f"total {time.perf_counter() - started:.0f} s")
    if not args.keep:
        with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
            admin.execute("drop database if exists crm_bench_loop with (force)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
