with

source as (

    select * from {{ source('shop', 'order_lines') }}

),

latest as (

    {{ deduplicate('source', 'order_id, line_number', '_partition_date desc, _load_id desc, _line_number desc') }}

),

renamed as (

    select
        {{ dbt.concat(["order_id", "'-'", "cast(line_number as " ~ dbt.type_string() ~ ")"]) }} as order_line_id,
        order_id,
        cast(line_number as integer) as line_number,
        product_id,
        cast(quantity as integer) as quantity,
        {# unit prices keep every decimal delivered (8-decimal grocery prices); amounts are rounded once, to cents #}
        cast(unit_price as numeric) as unit_price,
        cast(discount_amount as numeric(14, 2)) as discount_amount,
        cast(quantity * unit_price - discount_amount as numeric(14, 2)) as line_amount,
        _load_id as load_id

    from latest

)

select * from renamed
