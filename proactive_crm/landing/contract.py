"""The landing contract: what a retailer's systems export each night.

Files arrive as Hive-style partitions, ``<landing>/<source>/dt=YYYY-MM-DD/*.csv`` (web events and action
responses may also be ``*.jsonl``, either optionally gzip-compressed as ``*.csv.gz`` / ``*.jsonl.gz``).
This module is the single definition of every source, its columns, their types and allowed values. The
loader, the raw table DDL, the generator, the Great Expectations landing suite and the README table are all
derived from it, so a change to the contract is made here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "int", "numeric", "bool", "timestamp", "date"]

# Postgres type used for each contract type in the raw layer. Numbers are exact decimals stored as delivered:
# a fixed scale would round an 8-decimal unit price without a word.
PG_TYPES: dict[str, str] = {
    "text": "text",
    "int": "bigint",
    "numeric": "numeric",
    "bool": "boolean",
    "timestamp": "timestamptz",
    "date": "date",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = True
    allowed: tuple[str, ...] | None = None  # enumeration for text columns
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""
    # money amounts the marts report in cents: more decimals load exactly, and the landing gate counts them
    decimals: int | None = None
    # contact details and other data that identify a person: never shown in a rejection reason or a gate example
    personal: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # the timestamp that orders versions of the same record: the latest wins in staging
    version_column: str | None = None
    formats: tuple[str, ...] = ("csv",)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


ORDER_CHANNELS = ("web", "app", "store", "marketplace")
ORDER_STATUSES = ("completed", "cancelled", "returned")
REVIEW_KINDS = ("review", "complaint")
WEB_EVENT_TYPES = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
    "login",
)
CONTACT_CHANNELS = ("email", "sms", "call_center")
RESPONSE_STATUSES = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "unsubscribed",
    "complained",
)

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="customers",
            description="Customer master records; a changed customer is exported again with a later updated_at.",
            key=("customer_id",),
            version_column="updated_at",
            columns=(
                Column("customer_id", "text", description="The retailer's id for the person."),
                Column("signup_at", "timestamp", description="When the customer account was created."),
                Column("consent_email", "bool", description="Marketing e-mail consent as of updated_at."),
                Column("consent_sms", "bool", description="Marketing SMS consent as of updated_at."),
                Column("updated_at", "timestamp", description="When this version of the record was written."),
                Column("email", "text", required=False, personal=True),
                Column("phone", "text", required=False, description="E.164, e.g. +4915112345678.", personal=True),
                Column("first_name", "text", required=False, personal=True),
                Column("last_name", "text", required=False, personal=True),
                Column("birth_date", "date", required=False, personal=True),
                Column("city", "text", required=False),
                Column("country", "text", required=False, description="ISO 3166-1 alpha-2."),
                Column(
                    "time_zone",
                    "text",
                    required=False,
                    description="IANA time zone of the customer; the store time zone when absent.",
                ),
            ),
        ),
        Source(
            name="products",
            description="Product catalogue; a changed product is exported again with a later updated_at.",
            key=("product_id",),
            version_column="updated_at",
            columns=(
                Column("product_id", "text"),
                Column("name", "text"),
                Column("category", "text"),
                Column("price", "numeric", min_value=0),
                Column("is_consumable", "bool", description="Used up and bought again (coffee, filters)."),
                Column("updated_at", "timestamp"),
                Column("unit_cost", "numeric", required=False, min_value=0),
                Column(
                    "use_cycle_days",
                    "int",
                    required=False,
                    min_value=1,
                    description="How long one unit of a consumable lasts.",
                ),
                Column(
                    "service_interval_days",
                    "int",
                    required=False,
                    min_value=1,
                    description="Days between services of a durable product.",
                ),
            ),
        ),
        Source(
            name="orders",
            description="One row per order; a changed order (e.g. returned later) is exported again.",
            key=("order_id",),
            version_column=None,
            columns=(
                Column("order_id", "text"),
                Column("customer_id", "text"),
                Column("ordered_at", "timestamp"),
                Column("channel", "text", allowed=ORDER_CHANNELS),
                Column("status", "text", allowed=ORDER_STATUSES),
                Column("currency", "text", description="ISO 4217 code."),
                Column("total_amount", "numeric", min_value=0, decimals=2, description="What the customer paid."),
                Column(
                    "shipping_amount",
                    "numeric",
                    required=False,
                    min_value=0,
                    decimals=2,
                    description="Delivery charge included in total_amount (0 when absent); the lines hold products.",
                ),
            ),
        ),
        Source(
            name="order_lines",
            description="One row per product line of an order.",
            key=("order_id", "line_number"),
            columns=(
                Column("order_id", "text"),
                Column("line_number", "int", min_value=1),
                Column("product_id", "text"),
                Column("quantity", "int", min_value=1),
                Column("unit_price", "numeric", min_value=0),
                Column("discount_amount", "numeric", min_value=0, decimals=2),
            ),
        ),
        Source(
            name="reviews",
            description="Product reviews and complaints written by customers.",
            key=("review_id",),
            columns=(
                Column("review_id", "text"),
                Column("customer_id", "text"),
                Column("rating", "int", min_value=1, max_value=5),
                Column("kind", "text", allowed=REVIEW_KINDS),
                Column("created_at", "timestamp"),
                Column("order_id", "text", required=False),
                Column("product_id", "text", required=False),
                Column("body", "text", required=False),
            ),
        ),
        Source(
            name="web_events",
            description="Clickstream events from the web shop and app.",
            key=("event_id",),
            formats=("jsonl", "csv"),
            columns=(
                Column("event_id", "text"),
                Column("occurred_at", "timestamp"),
                Column("anonymous_id", "text", description="Cookie or device id of the visitor."),
                Column("event_type", "text", allowed=WEB_EVENT_TYPES),
                Column("customer_id", "text", required=False, description="Set when the visitor is logged in."),
                Column("product_id", "text", required=False),
                Column("search_query", "text", required=False),
                Column("page_url", "text", required=False),
                Column("referrer", "text", required=False),
                Column("device", "text", required=False),
            ),
        ),
        Source(
            name="action_responses",
            description="Delivery and response events written back by the e-mail, SMS and call-centre systems.",
            key=("action_id", "status", "occurred_at"),
            formats=("csv", "jsonl"),
            columns=(
                Column("action_id", "text"),
                Column("customer_id", "text"),
                Column("channel", "text", allowed=CONTACT_CHANNELS),
                Column("status", "text", allowed=RESPONSE_STATUSES),
                Column("occurred_at", "timestamp"),
            ),
        ),
    )
}


# Columns whose values identify a person (contact details): kept only in raw.customers, the restricted schema and
# the published outbound tables; never in a rejection reason, a quality example or a log line.
PERSONAL_COLUMNS: frozenset[str] = frozenset(c.name for s in SOURCES.values() for c in s.columns if c.personal)
