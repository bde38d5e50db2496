{#
    Orders carry no version timestamp: when an order is delivered again (e.g. it was returned later), the copy in
    the latest partition wins, then the latest load, then the last line of the file.
#}
with

source as (

    select * from {{ source('shop', 'orders') }}

),

latest as (

    {{ deduplicate('source', 'order_id', '_partition_date desc, _load_id desc, _line_number desc') }}

),

renamed as (

    select
        order_id,
        customer_id,
        ordered_at,
        {{ store_local_date('ordered_at') }} as ordered_date,
        channel,
        status,
        status = 'completed' as is_completed,
        status = 'cancelled' as is_cancelled,
        status = 'returned' as is_returned,
        upper(currency) as currency,
        cast(total_amount as numeric(14, 2)) as total_amount,
        cast(coalesce(shipping_amount, 0) as numeric(14, 2)) as shipping_amount,
        _partition_date as partition_date,
        _load_id as load_id

    from latest

)

select * from renamed
