{#
    numerator / denominator, null where the denominator is zero (dbt_utils.safe_divide; no package hub here).
    The caller casts the numerator when the quotient must not be an integer or numeric division.
#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
