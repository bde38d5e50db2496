with

source as (

    select * from {{ source('shop', 'order_lines') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id, line_number
            order by _partition_date desc, _load_id desc, _line_number desc
        ) as version_rank
    from source

),

renamed as (

    select
        {{ dbt.concat(["order_id", "'-'", "cast(line_number as " ~ dbt.type_string() ~ ")"]) }} as order_line_id,
        order_id,
        cast(line_number as integer) as line_number,
        product_id,
        cast(quantity as integer) as quantity,
        cast(unit_price as numeric(14, 2)) as unit_price,
        cast(discount_amount as numeric(14, 2)) as discount_amount,
        cast(quantity * unit_price - discount_amount as numeric(14, 2)) as line_amount

    from ranked
    where version_rank = 1

)

select * from renamed
