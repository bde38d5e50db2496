"""The closed loop on a generated retailer: decide -> gate -> publish -> simulated responses -> ingest -> mart.

Four nights on 2,500 customers, then the warehouse is built once more after the last measurement window, and
actions.action_effectiveness must show what the response simulator planted: treated customers order more than the
untreated ones (control group + holdout) with a confidence interval above zero, the well-targeted replenishment
reminders convert far more than cross-selling, and nobody untreated ever responds. The control group and holdout are
enlarged (25% each) and the window shortened (3 days) so that four nights measure something.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import psycopg.rows
import pytest
import yaml

from devtools.simulation import format_uplift_table, run_loop, uplift_table
from devtools.synth.config import SynthConfig
from devtools.synth.simulate import generate
from proactive_crm.config import PROJECT_ROOT

pytestmark = pytest.mark.integration

FIRST, NIGHTS, WINDOW = date(2026, 10, 20), 4, 3
LAST = FIRST + timedelta(days=NIGHTS - 1)
MEASURE_ON = LAST + timedelta(days=WINDOW)


def loop_config(root: Path) -> Path:
    policy = yaml.safe_load((PROJECT_ROOT / "config" / "contact_policy.yml").read_text())
    policy["control_group"]["share"] = 0.25
    policy["holdout"]["share"] = 0.25
    policy["learning"]["window_days"] = WINDOW
    policy_path = root / "contact_policy.yml"
    policy_path.write_text(yaml.safe_dump(policy))
    pipeline = yaml.safe_load((PROJECT_ROOT / "config" / "pipeline.yml").read_text())
    pipeline["contact_policy"] = str(policy_path)
    config = root / "pipeline.yml"
    config.write_text(yaml.safe_dump(pipeline))
    return config


@pytest.fixture(scope="module")
def loop(empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("actions_loop")
    landing = root / "landing"
    generate(SynthConfig(customers=2500, days=120, seed=5, out_dir=landing, end_date=MEASURE_ON, quiet=True))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRM_LANDING_DIR", str(landing))
        env.setenv("CRM_STATE_DIR", str(root / "state"))
        env.setenv("CRM_OUTBOX_DIR", str(root / "outbox"))
        env.setenv("CRM_CONFIG", str(loop_config(root)))
        result = run_loop(FIRST, LAST, MEASURE_ON, root / "outbox", seed=1, say=lambda line: print(line))
        with psycopg.connect(empty_warehouse) as conn:
            rows = uplift_table(conn)
        print(format_uplift_table(rows))
        print("seconds per step:", {k: round(v) for k, v in result.seconds.items()})
        yield {"url": empty_warehouse, "rows": rows, "result": result, "landing": landing, "outbox": root / "outbox"}


def effectiveness(loop: dict, action_type: str, channel: str = "all") -> dict:
    with psycopg.connect(loop["url"]) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute(
            "select * from actions.action_effectiveness where action_type = %s and channel = %s",
            (action_type, channel),
        ).fetchone()
    assert row is not None, f"no effectiveness row for {action_type}/{channel}"
    return row


def test_every_night_published_actions_and_files(loop: dict) -> None:
    for night in loop["result"].nights:
        counts = loop["result"].published[night]
        assert sum(counts.values()) > 0, f"nothing published on {night}"
        for channel in ("email", "sms", "call_center"):
            assert (loop["outbox"] / channel / f"dt={night}" / "_manifest.json").exists()


def test_responses_came_back_and_were_measured(loop: dict) -> None:
    overall = effectiveness(loop, "all")
    assert overall["count_sent"] == overall["count_treated"]  # every published action was sent
    assert 0.9 < overall["delivery_rate"] <= 1
    assert overall["count_converted"] > 20
    assert overall["attributed_revenue"] > 0


def test_treated_customers_order_more_than_untreated_ones(loop: dict) -> None:
    overall = effectiveness(loop, "all")
    assert overall["count_untreated"] > 200
    assert overall["uplift_retention_ci_low"] > 0, overall
    assert overall["uplift_orders_ci_low"] > 0, overall  # incremental orders per action


def test_well_targeted_actions_convert_more_than_poorly_targeted_ones(loop: dict) -> None:
    replenishment = effectiveness(loop, "replenishment_reminder")
    cross_sell = effectiveness(loop, "cross_sell")
    assert replenishment["conversion_rate"] > 2 * cross_sell["conversion_rate"]
    assert replenishment["uplift_retention_rate"] > cross_sell["uplift_retention_rate"]
    assert replenishment["uplift_orders_per_action"] > cross_sell["uplift_orders_per_action"]


def test_the_control_group_never_responds_and_shows_no_effect(loop: dict) -> None:
    with psycopg.connect(loop["url"]) as conn:
        responses = conn.execute(
            "select count(*) from actions.action_outcomes where not is_treated and count_responses > 0"
        ).fetchone()[0]
        groups = dict(
            conn.execute(
                "select comparison_group, avg(case when has_ordered_window then 1.0 else 0.0 end) "
                "from actions.action_outcomes where is_matured group by 1"
            ).fetchall()
        )
        counts = dict(
            conn.execute(
                "select comparison_group, count(*) from actions.action_outcomes where is_matured group by 1"
            ).fetchall()
        )
    assert responses == 0
    assert effectiveness(loop, "all")["count_untreated_responses"] == 0
    # A/A: the global control group and the holdouts were both untreated; their retention differs by noise only.
    p_c, p_h = float(groups["control_group"]), float(groups["holdout"])
    n_c, n_h = counts["control_group"], counts["holdout"]
    margin = 2.58 * (p_c * (1 - p_c) / n_c + p_h * (1 - p_h) / n_h) ** 0.5
    assert abs(p_c - p_h) <= margin + 1e-9


def test_learning_updates_the_response_rates(loop: dict) -> None:
    with psycopg.connect(loop["url"]) as conn:
        observed = conn.execute(
            "select sum(trials), sum(successes) from actions.response_rates where run_date = %s", (LAST,)
        ).fetchone()
    assert observed[0] > 0 and observed[1] > 0  # matured outcomes of the first night fed the last night's ranking


def test_the_mart_says_which_ranking_served_each_action_type_and_why(loop: dict) -> None:
    with psycopg.connect(loop["url"]) as conn:
        recorded = dict(conn.execute(
            "select action_type, ranking_method from actions.uplift_models where run_date = %s", (LAST,)
        ).fetchall())
    assert recorded and set(recorded.values()) <= {"uplift_two_model", "beta_binomial"}
    for action_type in ("replenishment_reminder", "cross_sell"):
        row = effectiveness(loop, action_type)
        assert row["ranking_method"] == recorded[action_type]
        assert row["ranking_status"] in ("trained", "qini_not_above_zero", "below_minimum", "failed")
        assert row["ranking_reason"]  # the counts, or the out-of-fold Qini with its interval
    assert effectiveness(loop, "all")["ranking_method"] is None  # the programme row has no single ranking


def test_a_rerun_of_the_responses_replaces_its_own_files(loop: dict) -> None:
    from devtools.synth.responses import simulate

    landing, night = loop["landing"], loop["result"].nights[0]
    before = {p: p.read_bytes() for p in landing.glob(f"*/dt=*/part-actions-{night}.csv")}
    simulate(loop["outbox"], landing, night, seed=1)
    after = {p: p.read_bytes() for p in landing.glob(f"*/dt=*/part-actions-{night}.csv")}
    assert before == after and before



def test_a_full_refresh_of_the_mart_gives_the_incremental_result(loop: dict) -> None:
    from proactive_crm.config import load_settings
    from proactive_crm.dbt_runner import run_dbt

    query = "select * from actions.action_outcomes order by action_id"
    with psycopg.connect(loop["url"]) as conn:
        incremental = conn.execute(query).fetchall()
    code, _, results = run_dbt(["build", "--select", "path:models/marts/actions", "--full-refresh"], loop["url"],
                               load_settings(), MEASURE_ON)
    assert code == 0, [r.message for r in results if r.status not in ("success", "pass")]
    with psycopg.connect(loop["url"]) as conn:
        assert conn.execute(query).fetchall() == incremental and incremental

