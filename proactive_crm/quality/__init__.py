"""Data-quality gates of the nightly run (Great Expectations suites in the top-level ``expectations`` package).

``run_landing_gate`` validates a source's new landing partitions before they load; ``run_warehouse_gate`` the marts
after the dbt build. Both record every expectation in ``quality.validation_results`` and raise
``QualityGateError`` when a critical one fails. ``format_gate_summary`` prints one line per gate for a run date.
"""

from proactive_crm.quality.gate import GateOutcome, QualityGateError
from proactive_crm.quality.landing import FilesRefused, run_landing_gate
from proactive_crm.quality.store import format_gate_summary
from proactive_crm.quality.warehouse import run_warehouse_gate

__all__ = [
    "FilesRefused",
    "GateOutcome",
    "QualityGateError",
    "format_gate_summary",
    "run_landing_gate",
    "run_warehouse_gate",
]
