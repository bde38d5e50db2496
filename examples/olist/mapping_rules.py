"""What the adapter fills in for the landing contract: the store's zone and currency, the rules for fields Olist
lacks, which sources it writes and which Olist columns have no place in the contract (all listed in the report)."""

from __future__ import annotations

STORE_TIME_ZONE = "America/Sao_Paulo"  # Olist timestamps are naive local time here; not converted
CURRENCY = "BRL"
COUNTRY = "BR"
CHANNEL = "marketplace"
REVIEW_KIND = "review"
UNKNOWN_CATEGORY = "unknown"  # products.category when Olist gives no category
NAME_ID_CHARS = 8  # products.name = "<category> <first 8 characters of product_id>"

# English Olist categories whose products are used up and bought again. A category-level approximation:
# health_beauty also holds hair dryers and pet_shop also holds pet beds; everything else counts as durable.
CONSUMABLE_CATEGORIES = frozenset(
    {
        "health_beauty",
        "perfumery",
        "food",
        "food_drink",
        "drinks",
        "pet_shop",
        "diapers_and_hygiene",
    }
)

# the landing sources this adapter writes, in writing order
WRITTEN_SOURCES = ("customers", "products", "orders", "order_lines", "reviews")
NOT_WRITTEN = {
    "web_events": "Olist has no clickstream; no folder is written",
    "action_responses": "Olist has no marketing sends or responses; no folder is written",
}


# Olist columns that have no place in the contract (reported, not silently lost)
NOT_CARRIED = (
    "customers.customer_state (the contract has no region column)",
    "customers.contact_id (equal to customer_id in this copy)",
    "orders.order_approved_at / order_delivered_carrier_date / order_delivered_customer_date /"
    " order_estimated_delivery_date",
    "order_items.seller_id / shipping_limit_date (freight_value is summed into orders.shipping_amount)",
    "order_payments.payment_sequential / payment_type / payment_installments (only the sum is carried)",
    "products.product_name_lenght / product_description_lenght / product_photos_qty / weight and dimensions",
    "order_reviews_text_sample.csv (other reviews, mostly of orders not in orders.csv; not read)",
)
