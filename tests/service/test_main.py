"""The `comfort` command (service/__main__.py): what `comfort serve` adds around the app."""

from __future__ import annotations

import subprocess
import sys
import time

# A process whose shutdown hangs: the deadline armed at its start ends it.
HANGING_SHUTDOWN = """
import asyncio, time
from service.__main__ import _ShutdownDeadline
from service.logconfig import configure_logging
configure_logging("json")
deadline = _ShutdownDeadline(0.5)
asyncio.run(deadline.arm(None))
time.sleep(30)  # a store that never answers, say
"""


def test_a_shutdown_that_hangs_ends_at_its_deadline_and_says_so() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", HANGING_SHUTDOWN], capture_output=True, text=True, timeout=20
    )
    took = time.monotonic() - started
    assert done.returncode == 1
    assert took < 10, took
    assert '"event":"shutdown_deadline_passed"' in done.stderr, done.stderr


DISARMED = """
import asyncio, time
from service.__main__ import _ShutdownDeadline
deadline = _ShutdownDeadline(0.3)
asyncio.run(deadline.arm(None))
deadline.disarm()
time.sleep(0.8)
print("still here")
"""


def test_a_shutdown_that_completes_disarms_its_deadline() -> None:
    done = subprocess.run(
        [sys.executable, "-c", DISARMED], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0 and "still here" in done.stdout, done.stderr
