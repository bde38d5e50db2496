{# The same event delivered twice (re-delivered partition, retried upload) is kept once: the first delivery. #}
with

source as (

    select * from {{ source('web', 'web_events') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by _partition_date, _load_id, _line_number
        ) as delivery_rank
    from source

),

renamed as (

    select
        event_id,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
        anonymous_id,
        customer_id,
        event_type,
        product_id,
        search_query,
        page_url,
        referrer,
        device,
        _partition_date as partition_date

    from ranked
    where delivery_rank = 1

)

select * from renamed
