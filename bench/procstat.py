"""CPU time and resident memory of processes, read from /proc (Linux), with no dependency."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid`, all its threads included; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_kb(pid: int) -> int:
    """Resident set size of `pid` in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class CpuMeter:
    """CPU used by a group of processes over a window, in percent of one core."""

    def __init__(self, pids: Iterable[int]) -> None:
        self.pids = list(pids)
        self._start = [cpu_seconds(p) for p in self.pids]
        self._t0 = time.monotonic()

    def percent(self) -> float:
        elapsed = time.monotonic() - self._t0
        used = sum(cpu_seconds(p) - s for p, s in zip(self.pids, self._start, strict=True))
        return round(100.0 * used / elapsed, 1) if elapsed > 0 else 0.0


SERVER_CPUS: set[int] = {0}
GENERATOR_CPUS: set[int] = {1}


def pinned(cpus: set[int], nofile: int) -> Callable[[], None]:
    """A `preexec_fn`: pin the child to `cpus` (where the machine has them), raise its fd limit."""
    usable = cpus & os.sched_getaffinity(0)

    def setup() -> None:
        if usable and len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(0, usable)
        raise_nofile(nofile)

    return setup


def raise_nofile(wanted: int) -> int:
    """Raise RLIMIT_NOFILE towards `wanted` (the hard limit too, when running as root)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
