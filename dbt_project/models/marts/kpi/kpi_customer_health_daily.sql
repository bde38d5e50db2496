{# The customer-health KPIs per store-local day; the columns are shared with kpi_customer_health_monthly. #}
with

measures as (

    {# period_start <= run_date: a re-run of an earlier day shows no later periods a later run left behind #}
    select * from {{ ref('int_kpi_measures_aggregated') }}
    where period_start <= {{ run_date() }}
        and grain = 'day'

),

final as (

    select
        measures.period_start,
        measures.period_end,
        measures.dimension,
        measures.dimension_value,
        {{ customer_health_kpi_columns('measures') }}
    from measures

)

select * from final
