with

source as (

    select * from {{ source('shop', 'products') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by product_id
            order by updated_at desc, _partition_date desc, _load_id desc, _line_number desc
        ) as version_rank
    from source

),

renamed as (

    select
        product_id,
        name as product_name,
        lower(trim(category)) as category,
        cast(price as numeric(14, 2)) as price,
        cast(unit_cost as numeric(14, 2)) as unit_cost,
        is_consumable,
        cast(use_cycle_days as integer) as use_cycle_days,
        cast(service_interval_days as integer) as service_interval_days,
        updated_at

    from ranked
    where version_rank = 1

)

select * from renamed
