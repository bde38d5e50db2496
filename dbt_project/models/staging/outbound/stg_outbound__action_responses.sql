with

source as (

    select * from {{ source('outbound', 'action_responses') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by action_id, status, occurred_at
            order by _partition_date, _load_id, _line_number
        ) as delivery_rank
    from source

),

renamed as (

    select
        {{ dbt.concat(["action_id", "'-'", "status", "'-'", "cast(occurred_at as " ~ dbt.type_string() ~ ")"]) }}
            as response_id,
        action_id,
        customer_id,
        channel,
        status as response_status,
        occurred_at,
        cast(occurred_at as date) as occurred_date

    from ranked
    where delivery_rank = 1

)

select * from renamed
