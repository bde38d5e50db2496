with

source as (

    select * from {{ source('shop', 'reviews') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by review_id
            order by _partition_date desc, _load_id desc, _line_number desc
        ) as version_rank
    from source

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
        cast(created_at as date) as created_date,
        body

    from ranked
    where version_rank = 1

)

select * from renamed
