"""dbt's ``adapter`` for sqlfluff's jinja templater: ``adapter.dispatch('m')(...)`` renders a stand-in expression
(the first argument, or a select for the project's deduplicate macro); relations are never found (the models then
render their branch for a missing optional input), and columns are none."""


def _deduplicate(relation: str, partition_by: str, order_by: str) -> str:
    return f"select distinct on ({partition_by}) * from {relation} order by {partition_by}, {order_by}"


def dispatch(macro_name: str, macro_namespace: str | None = None):
    if macro_name == "deduplicate":
        return _deduplicate
    return lambda *args, **kwargs: str(args[0]) if args else "null"


def get_relation(database: object = None, schema: object = None, identifier: object = None) -> None:
    return None


def get_columns_in_relation(relation: object) -> list:
    return []
