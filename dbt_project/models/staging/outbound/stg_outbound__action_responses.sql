with

source as (

    select * from {{ source('outbound', 'action_responses') }}

),

first_delivered as (

    {{ deduplicate('source', 'action_id, status, occurred_at', '_partition_date, _load_id, _line_number') }}

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
        {{ store_local_date('occurred_at') }} as occurred_date

    from first_delivered

)

select * from renamed
