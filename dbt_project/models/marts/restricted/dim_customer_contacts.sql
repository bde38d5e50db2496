{#
    Contact details, apart from everything BI reads: one row per customer, the latest delivered version. Only the
    pipeline role reads this schema; the decision step joins it to address the actions it publishes.
#}
with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

final as (

    select
        customers.customer_id,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.phone,
        customers.birth_date,
        customers.updated_at as profile_updated_at
    from customers

)

select * from final
