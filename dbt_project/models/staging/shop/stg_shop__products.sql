with

source as (

    select * from {{ source('shop', 'products') }}

),

latest as (

    {{ deduplicate('source', 'product_id', 'updated_at desc, _partition_date desc, _load_id desc, _line_number desc') }}

),

renamed as (

    select
        product_id,
        name as product_name,
        lower(trim(category)) as category,
        {# prices keep every decimal delivered; margins and amounts are rounded once, to cents #}
        cast(price as numeric) as price,
        cast(unit_cost as numeric) as unit_cost,
        is_consumable,
        cast(use_cycle_days as integer) as use_cycle_days,
        cast(service_interval_days as integer) as service_interval_days,
        updated_at

    from latest

)

select * from renamed
