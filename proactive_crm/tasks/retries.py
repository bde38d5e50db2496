"""What the DAG files share about how a task fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fail_without_retry(*errors: type[BaseException]) -> Iterator[None]:
    """Turn errors that a retry cannot fix (bad data, a model out of step with the warehouse) into an immediate
    task failure; anything else (a dropped connection) still gets the DAG's retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except errors as exc:
        raise AirflowFailException(str(exc)) from exc
