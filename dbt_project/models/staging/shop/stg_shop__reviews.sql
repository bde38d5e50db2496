with

source as (

    select * from {{ source('shop', 'reviews') }}

),

latest as (

    {{ deduplicate('source', 'review_id', '_partition_date desc, _load_id desc, _line_number desc') }}

),

renamed as (

    select
        review_id,
        customer_id,
        order_id,
        product_id,
        cast(rating as integer) as rating,
        kind as review_kind,
        kind = 'complaint' as is_complaint,
        rating >= 4 as is_positive,
        rating <= 2 as is_negative,
        created_at,
        {{ store_local_date('created_at') }} as created_date,
        body,
        _partition_date as partition_date

    from latest

)

select * from renamed
