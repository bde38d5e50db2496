{#
    Generic test: every non-null value lies in [min_value, max_value] (either bound optional), the way
    dbt_utils.accepted_range works; there is no package hub here, so the ten lines live in the project.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where {{ column_name }} is not null
    and (
        1 = 0
        {%- if min_value is not none %}
        or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
        {%- endif %}
    )

{% endtest %}


{# Generic test: the combination of columns is unique (dbt_utils.unique_combination_of_columns). #}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select {{ combination_of_columns | join(', ') }}, count(*) as count_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}


{# Generic test: the expression holds on every row (dbt_utils.expression_is_true). #}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
