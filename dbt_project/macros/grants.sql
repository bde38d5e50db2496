{#
    Read access for a role the project creates (proactive_crm.privacy.roles), applied after each build of a model
    that dbt re-creates: a re-created table loses its grants. Does nothing where the role does not exist yet (a
    warehouse whose roles were never created, e.g. a test database), so builds never depend on it.
#}
{% macro grant_select_if_role(role) -%}
    do $$
    begin
        if exists (select from pg_roles where rolname = '{{ role }}') then
            execute 'grant select on {{ this }} to {{ role }}';
        end if;
    end
    $$
{%- endmacro %}
