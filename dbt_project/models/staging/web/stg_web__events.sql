{#
    The same event delivered twice (re-delivered partition, retried upload) is kept once: the first delivery, the one
    with no earlier delivery of its event_id. Written as an anti-join rather than a ranking so that the incremental
    models' filter on occurred_at reaches the scan of the clickstream instead of waiting for a sort of all of it.
#}
with

source as (

    select * from {{ source('web', 'web_events') }}

),

first_delivered as (

    select source.*
    from source
    where not exists (
        select 1
        from {{ source('web', 'web_events') }} as earlier
        where earlier.event_id = source.event_id
            and (
                earlier._partition_date < source._partition_date
                or (earlier._partition_date = source._partition_date and earlier._load_id < source._load_id)
                or (
                    earlier._partition_date = source._partition_date
                    and earlier._load_id = source._load_id
                    and earlier._line_number < source._line_number
                )
            )
    )

),

renamed as (

    select
        event_id,
        occurred_at,
        {{ store_local_date('occurred_at') }} as occurred_date,
        anonymous_id,
        customer_id,
        event_type,
        product_id,
        search_query,
        page_url,
        referrer,
        device,
        _partition_date as partition_date

    from first_delivered

)

select * from renamed
