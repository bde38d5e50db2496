"""dbt's cross-database macros (``dbt.type_float()``, ``dbt.dateadd(...)``, ...) for sqlfluff's jinja templater.

What dbt-postgres renders, close enough for SQL lint: make lint renders the models without dbt or a warehouse
(.sqlfluff; CONTRIBUTING.md says why not the dbt templater).
"""


def type_float() -> str:
    return "float8"


def type_string() -> str:
    return "text"


def type_bigint() -> str:
    return "bigint"


def type_int() -> str:
    return "integer"


def type_numeric() -> str:
    return "numeric(28, 6)"


def type_timestamp() -> str:
    return "timestamp"


def cast(field: str, type_: str) -> str:
    return f"cast({field} as {type_})"


def concat(fields: list[str]) -> str:
    return " || ".join(str(f) for f in fields)


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"(({second_date})::date - ({first_date})::date)"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def last_day(date: str, datepart: str) -> str:
    return f"cast(date_trunc('{datepart}', {date}) + interval '1 {datepart}' - interval '1 day' as date)"


def split_part(string_text: str, delimiter_text: str, part_number: object) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def hash(field: str) -> str:  # noqa: A001 - dbt's own name
    return f"md5(cast({field} as text))"


def date_spine(datepart: str, start_date: str, end_date: str) -> str:
    return (f"select generate_series({start_date}, {end_date}, interval '1 {datepart}')::date as date_{datepart}")
