"""The readable side of a decision: its reason (trigger + model reason codes + ranking), its personalisation
payload and the versions of every model behind it."""

from __future__ import annotations

import json

import pandas as pd

from proactive_crm.actions.policy import Policy

# Which model's reason codes explain which action type.
EXPLAINED_BY = {
    "service_recovery": "churn",
    "churn_prevention": "churn",
    "win_back": "churn",
    "vip_recognition": "value",
    "special_date": "value",
    "cross_sell": "next_purchase",
    "replenishment_reminder": "next_purchase",
}


def model_text(row: dict) -> str:
    kind = EXPLAINED_BY.get(row["action_type"])
    if row["action_type"] == "replenishment_reminder" and row["model_reason"]:
        return f"next purchase per category ({row['model_version']}): {row['model_reason']}"
    if kind == "churn" and row["action_type"] == "churn_prevention" and not row["churn_reason"]:
        return ""  # the trigger already states the risk
    if kind == "churn" and pd.notna(row["churn_risk"]):
        why = f": {row['churn_reason']}" if row["churn_reason"] else ""
        return f"churn risk {row['churn_risk']:.2f} ({row['churn_version']}){why}"
    if kind == "value":
        why = f": {row['value_reason']}" if row["value_reason"] else ""
        return f"90-day value {row['value_90d']:.2f} ({row['value_version']}){why}"
    if kind == "next_purchase" and row["next_purchase_reason"]:
        return f"next purchase ({row['next_purchase_version']}): {row['next_purchase_reason']}"
    return ""


def ranking_text(method: str, p: float, evidence: str, channel: str, segment: str, value: float, cost: float,
                  ev: float) -> str:
    if method == "uplift_two_model":
        return f"uplift model: {p:+.3f} x value {value:.2f} - cost {cost:.2f} = {ev:.2f} ({evidence})"
    source = "prior only" if method == "beta_binomial_prior" else f"{evidence} observed"
    return (f"P(response | {channel}, {segment}) {p:.3f} ({source}) x value {value:.2f} - cost {cost:.2f} = {ev:.2f}")


def payload(row: dict, products: dict[str, dict], policy: Policy, currency: str) -> str:
    offer = dict(policy.action_types[row["action_type"]].offer)
    if "amount" in offer:
        offer["currency"] = currency
    items = [products[p] for p in (row["product_ids"] or "").split(",") if p in products][:3]
    return json.dumps(
        {
            "first_name": row["first_name"],
            "products": items,
            "offer": offer,
            "trigger": {"code": row["trigger_code"], "date": str(row["trigger_date"]) if pd.notna(row["trigger_date"])
                        else None},
        },
        ensure_ascii=False,
    )


def model_versions(row: dict, ranking_version: str, policy: Policy) -> str:
    versions = {"churn_risk": row["churn_version"], "value_90d": row["value_version"],
                "next_purchase": row["next_purchase_version"], "ranking": ranking_version,
                "contact_policy": policy.version}
    if row["action_type"] == "replenishment_reminder" and row["model_version"]:
        versions["next_purchase_category"] = row["model_version"]
    return json.dumps(versions)
