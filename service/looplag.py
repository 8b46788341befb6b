"""The event loop's own lag, and the busy rule it drives (an addition: docs/protocol.md).

A process past what its core can do falls behind: every callback waits longer for its turn, and
a handshake waits longest, first in the kernel's accept queue and then behind everything the
loop already holds. A reconnect that times out there is tried again a few seconds later, and
each attempt costs the process a handshake, an admission and a replay it has no time for: the
reconnect storm `bench/README.md` measured (issue 18, round four). So the loop measures itself:
a timer due every `INTERVAL_S` notes how late it ran, and while the median of the last `window`
of those (five seconds when on time, longer when late) is at least `busy_after_s` the process is
*busy*. Then a new Socket.IO connection is refused at once with `connect_error` code `busy` and a
`retry_after_s` (a few seconds, spread so that the refused do not all come back together), the
connections it holds go on as they were, and `/readyz` says so in its body. Busy ends once the
median is back under half the threshold.

The median of a few seconds, not the maximum nor the last tick: a collection of Python's garbage
collector stops the loop for hundreds of milliseconds now and then (`comfort_gc_pause_seconds`),
and a burst — every therapist of a process reconnecting at once after a network blip, replayed
in two or three seconds (`bench/`'s storm) — is absorbed faster by serving it than by sending it
away for ten seconds. Neither is a process that has fallen behind for good.

Limits (round five in `bench/README.md`): a handshake that waits in the kernel's accept queue is
not seen until the loop accepts it, so busy cannot spare it the wait, only the admission after;
and a loop that stands still for long yields few ticks, so the median over ticks leans to the
time before (a stall that long shows in `comfort_event_loop_lag_seconds` and the GC histogram).
"""

from __future__ import annotations

import asyncio
import random
import statistics
from collections import deque

import structlog

from .aio import stop_task
from .metrics import Metrics

log = structlog.get_logger(__name__)


class LoopLag:
    """Measures the running loop's lag; `busy` while its recent median is over the threshold.

    Args:
        busy_after_s: the median lag that makes the process busy (`COMFORT_BUSY_LAG_MS`);
            None never says busy (the lag is still measured and exported).
        retry_after_s: the range a refused connection is told to wait before it tries again.
        window: how many ticks the median is taken over (busy needs half of them at least).
    """

    INTERVAL_S = 0.1

    def __init__(
        self,
        metrics: Metrics,
        *,
        busy_after_s: float | None = 0.05,
        retry_after_s: tuple[float, float] = (5.0, 15.0),
        window: int = 50,
    ) -> None:
        self.metrics = metrics
        self.busy_after_s = busy_after_s
        self.retry_after_range = retry_after_s
        self.recent: deque[float] = deque(maxlen=window)
        self.busy = False
        self.refused = 0  # connections refused since busy began (logged when it ends)
        self._task: asyncio.Task[None] | None = None

    @property
    def lag_s(self) -> float:
        """The median lag of the last `window` ticks (0 before the first)."""
        return statistics.median(self.recent) if self.recent else 0.0

    def retry_after_s(self) -> float:
        """How long a refused connection is asked to wait: spread over the range."""
        low, high = self.retry_after_range
        return round(random.uniform(low, high), 1)

    def refuse(self) -> float:
        """Count one connection refused as busy; how long it is asked to wait. (Refusals are
        logged once, when busy ends, not each: a busy process has no time for a log line a
        refusal.)"""
        self.refused += 1
        return self.retry_after_s()

    def observe(self, lag_s: float) -> None:
        """One tick's lag: the median moves, and busy starts or ends."""
        self.recent.append(lag_s)
        self.metrics.loop_lag.observe(lag_s)
        if self.busy_after_s is None or len(self.recent) < (self.recent.maxlen or 0) // 2:
            return
        median = self.lag_s
        if not self.busy and median >= self.busy_after_s:
            self.busy = True
            log.warning("process_busy", loop_lag_ms=round(median * 1000, 1))
        elif self.busy and median < self.busy_after_s / 2:
            self.busy = False
            log.info("process_caught_up", loop_lag_ms=round(median * 1000, 1), refused=self.refused)
            self.refused = 0
        self.metrics.busy.set(1 if self.busy else 0)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="loop-lag")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.INTERVAL_S
            await asyncio.sleep(self.INTERVAL_S)
            self.observe(max(0.0, loop.time() - due))
