{#
    Birthday (29 February on the 28th in other years) or anniversary of the first order on as_of. Value: average
    order value. Birth dates come from the restricted contacts mart.
#}
with

customers as (

    select * from {{ ref('dim_customers') }}

),

contacts as (

    select * from {{ ref('dim_customer_contacts') }}

),

dates as (

    select
        customers.customer_id, 'birthday' as trigger_code, 1 as date_rank,
        'birthday on ' || {{ as_of_date() }} as detail, customers.average_order_value
    from customers
    inner join contacts
        on customers.customer_id = contacts.customer_id
    where {{ trigger_param('special_date', 'birthdays') }} and contacts.birth_date is not null
        and customers.count_orders > 0 and {{ is_same_day_of_year('contacts.birth_date') }}
    union all
    select
        customer_id, 'first_order_anniversary', 2,
        extract(year from age({{ as_of_date() }}, first_order_date)) || ' year(s) since the first order on '
        || first_order_date,
        average_order_value
    from customers
    where {{ trigger_param('special_date', 'first_order_anniversaries') }} and first_order_date is not null
        and first_order_date <= {{ as_of_date() }} - 365 and {{ is_same_day_of_year('first_order_date') }}

),

final as (

    select distinct on (customer_id)
        customer_id,
        trigger_code,
        detail as trigger_detail,
        {{ as_of_date() }} as trigger_date,
        average_order_value as base_value,
        null::text[] as product_ids,
        null::text as model_reason,
        null::text as model_version
    from dates
    order by customer_id, date_rank

)

select * from final
