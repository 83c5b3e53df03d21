"""A child Python process that is killed (kill -9), for the crash tests.

The crash tests (``tests/store/test_crash``, ``test_chat_sources_crash``,
``test_chat_sources_import_crash``) run a store workload as ``python -c CODE args`` that prints
``OPEN`` once its store is open and a line per durable step; the parent kills it at a random
moment, or the child kills itself, and checks the reopened store against the printed lines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_killed(code: str, args: list[str], *, kill_after: float | None,
               open_timeout: float | None) -> list[str]:
    """Run ``code`` with ``args``; wait up to ``open_timeout`` s for its ``OPEN`` line (None:
    don't wait), then SIGKILL it after ``kill_after`` s (None: it kills itself). Returns its
    complete stdout lines; asserts it died of SIGKILL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    lines: list[str] = []
    opened = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.endswith("\n"):
                break  # an incomplete line: the kill landed mid-print
            lines.append(line.rstrip("\n"))
            if line.startswith("OPEN"):
                opened.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    if open_timeout is not None:
        opened.wait(open_timeout)
    if kill_after is not None:
        time.sleep(kill_after)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    thread.join(10)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == -signal.SIGKILL, f"child exited {proc.returncode}: {stderr}"
    return lines
