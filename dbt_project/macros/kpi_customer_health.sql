{#
    The columns of the customer-health KPI marts (kpi_customer_health_daily and _monthly, which differ only in
    their grain), in contract order: the list is data, the casts follow from each column's kind.
#}
{% macro customer_health_kpi_columns(relation) -%}
    {%- set columns = [
        ('count_customers', 'count'),
        ('count_customers_previous_period', 'count'),
        ('count_retained_customers', 'count'),
        ('count_new_customers', 'count'),
        ('retention_rate', 'ratio'),
        ('count_orders_placed', 'count'),
        ('count_orders', 'count'),
        ('count_cancelled_orders', 'count'),
        ('count_returned_orders', 'count'),
        ('revenue', 'money'),
        ('average_order_value', 'ratio'),
        ('count_satisfied_customers', 'count'),
        ('count_rated_customers', 'count'),
        ('satisfaction_rate', 'ratio'),
        ('rated_satisfaction_rate', 'ratio'),
        ('count_reviews', 'count'),
        ('count_positive_reviews', 'count'),
        ('positive_review_share', 'ratio'),
        ('count_complaints', 'count'),
        ('count_complaining_customers', 'count'),
        ('complaint_rate', 'ratio'),
        ('complaints_per_customer', 'ratio'),
        ('count_buyers', 'count'),
        ('count_repeat_buyers', 'count'),
        ('repurchase_rate', 'ratio'),
        ('count_purchase_intervals', 'count'),
        ('avg_days_between_purchases', 'ratio'),
        ('count_loyal_customers', 'count'),
        ('loyal_customer_share', 'ratio'),
        ('count_lifecycle_active', 'count'),
        ('count_lifecycle_at_risk', 'count'),
        ('count_lifecycle_lapsed', 'count'),
        ('pareto_revenue', 'money'),
        ('pareto_revenue_share', 'ratio'),
    ] -%}
    {%- set types = {
        'count': dbt.type_bigint(),
        'ratio': dbt.type_float(),
        'money': 'numeric(18, 2)',
    } -%}
    {%- for name, kind in columns %}
        cast({{ relation }}.{{ name }} as {{ types[kind] }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
