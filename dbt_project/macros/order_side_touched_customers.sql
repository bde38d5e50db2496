{#
    The customers whose rows an incremental run of an order-side model (int_purchases_sequenced, fct_orders,
    fct_order_lines, int_category_purchases_sequenced) rebuilds. Each of these tables carries per row the latest
    raw load it was built from (source_load_id). Load ids only grow and a night's loads end before its build, so
    every load up to the table's largest source_load_id was already in raw when the table was last built, and
    whatever changed since came with a later load. A customer is touched when
    - any version of one of their orders, or a line of one, came with a later load: a new order, or an old one
      delivered again (returned or cancelled later, corrected); every version counts, so an order that moved to
      another customer rebuilds both;
    - one of their orders is dated after the table's latest date (or after run_date when an earlier day is re-run):
      an order delivered before its store-local date was due, or one to drop from the table;
    - with_products: a product on one of their lines had its category, cost or use cycle changed by a later load
      (comparing the product's winning version with and without the later loads, in stg_shop__products' order).
    Whole customers, because purchase numbers, intervals and category sequences run over each customer's orders.
    with_lines=false for a table that reads no lines (int_purchases_sequenced): its watermark holds order loads
    only, and the line loads after it (a first load writes every order file before the line files) would touch
    every customer.
    Not seen: a re-delivered file that drops an order its earlier delivery had (the earlier load's rows are deleted
    from raw); the order stays until a full refresh. Erasure deletes from these tables itself.
#}
{% macro order_side_touched_customers(date_column, with_lines=true, with_products=false) -%}
    with

    watermark as (

        select
            coalesce(max(source_load_id), 0) as load_id,
            least(coalesce(max({{ date_column }}), cast('1900-01-01' as date)), {{ run_date() }}) as last_date
        from {{ this }}

    ),

    {% if with_products %}
    product_versions as (

        select
            product_id,
            category,
            unit_cost,
            is_consumable,
            use_cycle_days,
            updated_at,
            _partition_date,
            _load_id,
            _line_number,
            _load_id > (select load_id from watermark) as is_later
        from {{ source('shop', 'products') }}
        where product_id in (
            select product_id from {{ source('shop', 'products') }}
            where _load_id > (select load_id from watermark)
        )

    ),

    products_now as (

        select distinct on (product_id) *
        from product_versions
        order by product_id, updated_at desc, _partition_date desc, _load_id desc, _line_number desc

    ),

    products_before as (

        select distinct on (product_id) *
        from product_versions
        where not is_later
        order by product_id, updated_at desc, _partition_date desc, _load_id desc, _line_number desc

    ),

    changed_products as (

        select products_now.product_id
        from products_now
        left join products_before
            on products_now.product_id = products_before.product_id
        where (products_now.category, products_now.unit_cost, products_now.is_consumable, products_now.use_cycle_days)
            is distinct from
            (products_before.category, products_before.unit_cost, products_before.is_consumable,
                products_before.use_cycle_days)

    ),
    {% endif %}

    changed_orders as (

        select order_id from {{ source('shop', 'orders') }}
        where _load_id > (select load_id from watermark)

        {% if with_lines %}
        union

        select order_id from {{ source('shop', 'order_lines') }}
        where _load_id > (select load_id from watermark)
        {% if with_products %}
            or product_id in (select product_id from changed_products)
        {% endif %}
        {% endif %}

    )

    select customer_id from {{ source('shop', 'orders') }}
    where order_id in (select order_id from changed_orders)

    union

    select customer_id from {{ source('shop', 'orders') }}
    where {{ store_local_date('ordered_at') }} > (select last_date from watermark)
{%- endmacro %}


{#
    Pre-hook of the order-side incremental models: note the touched customers in a temporary table (dropped at the
    commit; the model's select reads it) before anything is deleted, then delete their rows and any row dated after
    run_date, so that rows of orders no longer completed, moved or not yet due do not survive.
#}
{% macro delete_order_side_touched_customers(date_column, with_lines=true, with_products=false) -%}
    {% if is_incremental() %}
    create temporary table {{ order_side_touched_table() }} on commit drop as
    {{ order_side_touched_customers(date_column, with_lines, with_products) }};
    analyze {{ order_side_touched_table() }};
    delete from {{ this }}
    where customer_id in (select customer_id from {{ order_side_touched_table() }})
        or {{ date_column }} > {{ run_date() }}
    {% endif %}
{%- endmacro %}


{# The temporary table of the touched customers, one per model (its pre-hook and its select). #}
{% macro order_side_touched_table() -%}
    pg_temp.{{ this.identifier }}__touched_customers
{%- endmacro %}
