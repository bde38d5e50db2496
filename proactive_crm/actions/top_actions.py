"""What a person reads after a night: the top actions per channel with their reasons, and what was held back why."""

from __future__ import annotations

import textwrap
from datetime import date

import psycopg

from proactive_crm.actions import contract
from proactive_crm.actions.store import table_exists
from proactive_crm.privacy.masking import mask_contact

CHANNEL_TITLES = {"email": "E-mail", "sms": "SMS", "call_center": "Call centre"}


def _top(conn: psycopg.Connection, channel: str, run_date: date, limit: int) -> list[tuple]:
    address = contract.ADDRESS_COLUMN[channel]
    return conn.execute(
        f"""
        select p.priority_rank, p.customer_id, p.action_type, p.score, p.{address},
            to_char(d.send_after at time zone d.time_zone, 'YYYY-MM-DD HH24:MI') || ' ' || d.time_zone, p.reason
        from {contract.table_name(channel)} as p
        inner join actions.decisions as d
            on p.action_id = d.action_id and p.run_date = d.run_date
        where p.run_date = %s
        order by p.priority_rank
        limit %s
        """,
        (run_date, limit),
    ).fetchall()


def format_decision_counts(conn: psycopg.Connection, run_date: date) -> list[str]:
    rows = conn.execute(
        "select outcome, coalesce(suppression_reason, ''), count(*) from actions.decisions where run_date = %s "
        "group by 1, 2 order by 1, 3 desc",
        (run_date,),
    ).fetchall()
    if not rows:
        return [f"no candidates for {run_date} (see the decide_actions log for skipped triggers)"]
    total = sum(r[2] for r in rows)
    by_outcome: dict[str, int] = {}
    for outcome, _, count in rows:
        by_outcome[outcome] = by_outcome.get(outcome, 0) + count
    lines = [f"{total:,} candidates: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in by_outcome.items())]
    lines += [f"  suppressed, {reason.replace('_', ' ')}: {count:,}" for outcome, reason, count in rows
              if outcome == "suppressed"]
    return lines


def format_top_actions(conn: psycopg.Connection, run_date: date, per_channel: int = 5) -> str:
    """The published batch of ``run_date``: counts, the top actions per channel with their reasons, suppressions.

    Contact addresses are masked: the preview is printed to terminals and logs (README "Privacy")."""
    if not table_exists(conn, "actions.decisions"):
        return "no actions decided yet (actions.decisions does not exist)"
    published = conn.execute(
        "select published_at, count_email, count_sms, count_call_center from actions.publications "
        "where run_date = %s", (run_date,)
    ).fetchone()
    lines = []
    if published is None:
        lines.append(f"actions for business day {run_date}: not published (did the actions gate pass?)")
    else:
        lines.append(
            f"actions for business day {run_date}, published {published[0]:%Y-%m-%d %H:%M} UTC: "
            f"e-mail {published[1]:,}, SMS {published[2]:,}, call centre {published[3]:,}"
        )
    lines += format_decision_counts(conn, run_date)
    if published is None:
        return "\n".join(lines)
    for channel in contract.TABLES:
        top = _top(conn, channel, run_date, per_channel)
        if not top:
            continue
        lines.append(f"\n{CHANNEL_TITLES[channel]}: top {len(top)}")
        for rank, customer, action_type, score, address, send_local, reason in top:
            lines.append(
                f"  #{rank:<3} {customer}  {action_type:<22} {float(score):>9.2f}  {mask_contact(address)}  "
                f"send {send_local}"
            )
            lines += textwrap.wrap(reason, width=112, initial_indent="        why: ", subsequent_indent="             ")
    return "\n".join(lines)
