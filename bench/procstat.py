"""CPU time and resident memory of processes, read from /proc (Linux), with no dependency."""

from __future__ import annotations

import contextlib
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


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _uptime_ticks() -> float:
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) * _TICKS


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    # Backends rewrite their title into argv[0] with spaces: split both ways.
    return raw.replace(b"\0", b" ").decode(errors="replace").split()


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def postgres_pids(database: str) -> tuple[list[int], list[int]]:
    """The local PostgreSQL server's processes: (backends connected to `database`, the server's
    own processes: postmaster, checkpointer, WAL writer, background writer, autovacuum…).

    Backends of other databases (other people's tests on a shared server) are in neither list.
    A backend's title is `postgres: [cluster:] user database host(port) state`.
    """
    named: dict[int, list[str]] = {}
    for pid in all_pids():
        words = _cmdline(pid)
        if words and os.path.basename(words[0]).rstrip(":") == "postgres":
            named[pid] = words
    postmasters = {pid for pid in named if parent(pid) not in named}
    backends: list[int] = []
    shared: list[int] = sorted(postmasters)
    for pid, words in named.items():
        if pid in postmasters:
            continue
        at = next(
            (i for i, w in enumerate(words) if w == "[local]" or (w.endswith(")") and "(" in w)),
            None,
        )
        if at is None:
            shared.append(pid)
        elif at >= 1 and words[at - 1] == database:
            backends.append(pid)
    return sorted(backends), shared


class GroupMeter:
    """CPU of a changing set of processes over a window, in percent of one core.

    `find()` names the processes; it is asked again every `every` seconds, so a process that
    starts during the window (a new database backend, say) counts from its start, and one that
    ends counts up to its last sample. Processes are told apart by (pid, start time).
    """

    def __init__(self, find: Callable[[], Iterable[int]]) -> None:
        self.find = find
        self._t0 = time.monotonic()
        self._window_start_ticks = _uptime_ticks()
        self._first: dict[tuple[int, int], float] = {}
        self._last: dict[tuple[int, int], float] = {}
        self.sample()

    def sample(self) -> None:
        for pid in self.find():
            fields = _stat_fields(pid)
            if fields is None:
                continue
            key = (pid, int(fields[19]))
            used = (int(fields[11]) + int(fields[12])) / _TICKS
            if key not in self._first:
                # started inside the window: all its CPU is the window's
                self._first[key] = 0.0 if key[1] >= self._window_start_ticks else used
            self._last[key] = used

    @property
    def processes(self) -> int:
        return len(self._first)

    def percent(self) -> float:
        self.sample()
        elapsed = time.monotonic() - self._t0
        used = sum(self._last[k] - self._first[k] for k in self._first)
        return round(100.0 * used / elapsed, 1) if elapsed > 0 else 0.0


def rss_parts_kb(pid: int) -> dict[str, int]:
    """`pid`'s resident set in its kernel parts, KiB: `anon` (the heap: what the process holds),
    `file` (pages of mapped files: SQLite's memory map of its database, shared libraries; page
    cache the kernel can reclaim) and `shmem` (SQLite's WAL index)."""
    parts = {"anon": 0, "file": 0, "shmem": 0}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            for name, key in (("RssAnon:", "anon"), ("RssFile:", "file"), ("RssShmem:", "shmem")):
                if line.startswith(name):
                    parts[key] = int(line.split()[1])
    return parts


def group_rss_kb(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += rss_kb(pid)
    return total
