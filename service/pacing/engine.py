"""The pacing engine of one process: folds logged events, keeps timers in the store, fires them.

Each session has a `SessionPacing` that folds the session's events in seq order (from the hub's
`applied` feed, or read from the store to fill a gap, rebuild after a restart or catch up) into a
`PacingState`. What the fold calls for — timers and vendor deliveries — is saved in the store
together with the session's pacing cursor, in one transaction. A scheduler claims due timers in
the store (so one process fires each) and the session logs the cue under its deterministic id.

Restarts: a timer whose deadline passed while the service was down is claimed at the first scan.
Events stored just before a crash, before their timers were saved, leave the pacing cursor
behind the session's head; the backlog scan (at start and every few seconds) folds them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import os
import secrets
import socket
import time
from dataclasses import dataclass, field

import structlog
from prometheus_client import CollectorRegistry, Counter

from ..aio import wait_event
from ..engine import SessionEngine
from ..errors import StoreUnavailable
from ..events import CheckinExpiredData, Event
from ..outbox import OutboxSender, RetryPolicy, outbox_item
from ..realtime.hub import Hub, SessionRuntime
from ..store.base import AppendOutcome, OutboxItem, PacingProgress, PacingStore, TimerSpec
from ..tenants import TenantRegistry
from .state import CHECKIN_PREFIX, LEFT_PREFIX, Cue, PacingState

log = structlog.get_logger(__name__)

READ_PAGE = 1000


@dataclass(frozen=True, slots=True)
class PacingOptions:
    """How often the engine looks, and for how long a claim holds. Tests shorten these."""

    timer_scan_s: float = 1.0
    timer_lease_s: float = 5.0
    flush_s: float = 1.0
    backlog_scan_s: float = 5.0
    idle_forget_s: float = 120.0
    outbox_scan_s: float = 1.0
    outbox_lease_s: float = 30.0  # longer than one attempt (outbox_timeout_s)
    outbox_timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def process_owner() -> str:
    """This process's name in timer and delivery claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(eq=False, slots=True)
class SessionPacing:
    """The pacing work of one session in this process; one drain task at a time."""

    session_id: str
    state: PacingState | None = None
    inbox: list[Event] = field(default_factory=list)
    fires: list[TimerSpec] = field(default_factory=list)
    catch_up: bool = False
    saved_seq: int = 0
    unsaved_timers: list[TimerSpec] = field(default_factory=list)
    unsaved_deliveries: list[OutboxItem] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    touched: float = field(default_factory=time.monotonic)

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()


class PacingEngine:
    """Every pacing rule of contract §5 for the sessions this process sees."""

    def __init__(
        self,
        engine: SessionEngine,
        hub: Hub,
        store: PacingStore,
        tenants: TenantRegistry,
        outbox: OutboxSender,
        options: PacingOptions,
        registry: CollectorRegistry,
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.store = store
        self.tenants = tenants
        self.outbox = outbox  # started and stopped with the engine; woken when it has work
        self.options = options
        self.owner = outbox.owner
        self.sessions: dict[str, SessionPacing] = {}
        self._due: list[float] = []  # deadlines of timers this process saved (a heap)
        self._timer_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._stopped = False
        self.cues = Counter(
            "comfort_cues_total",
            "Cues logged by this process",
            ["rule", "severity"],
            registry=registry,
        )
        self.timers_fired = Counter(
            "comfort_pacing_timers_fired_total", "Timers claimed and fired", registry=registry
        )
        hub.applied.subscribe(self.observe)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._running:
            return
        self._running, self._stopped = True, False
        await self.outbox.start()
        self._tasks = [
            asyncio.create_task(self._timer_loop(), name="pacing-timers"),
            asyncio.create_task(self._maintenance_loop(), name="pacing-maintenance"),
        ]

    async def stop(self) -> None:
        self._stopped = True
        if not self._running:
            return
        self._running = False
        tasks = self._tasks + [sp.task for sp in self.sessions.values() if sp.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.outbox.stop()
        with contextlib.suppress(Exception):
            await self.store.release_pacing()

    # -- intake -------------------------------------------------------------------------------

    def observe(self, runtime: SessionRuntime, event: Event) -> None:
        """Subscribed to `hub.applied`: each event once applied to its loaded session.

        The common case, the next event of a session folded here with nothing else to do, is
        folded at once, without a task (one per event was most of the pacing's cost, issue 18);
        a task saves what the fold called for, if anything.
        """
        if self._stopped:
            return
        sp = self._session(runtime.id)
        state = sp.state
        if (
            state is not None
            and event.seq == state.head + 1
            and not (sp.busy or sp.inbox or sp.fires or sp.catch_up)
        ):
            try:
                self._fold(sp, runtime, event)
            except Exception:
                self._start_over(sp)
                return
            if sp.unsaved_timers or sp.unsaved_deliveries:
                self._kick(sp)
            return
        sp.inbox.append(event)
        self._kick(sp)

    def _session(self, session_id: str) -> SessionPacing:
        sp = self.sessions.get(session_id)
        if sp is None:
            sp = self.sessions[session_id] = SessionPacing(session_id)
        sp.touched = time.monotonic()
        return sp

    def _kick(self, sp: SessionPacing) -> None:
        if not sp.busy and not self._stopped:
            sp.task = asyncio.get_running_loop().create_task(self._drain(sp))

    async def _drain(self, sp: SessionPacing) -> None:
        failures = 0
        while sp.inbox or sp.fires or sp.catch_up or sp.unsaved_timers or sp.unsaved_deliveries:
            try:
                await self._step(sp)
                failures = 0
            except StoreUnavailable:
                failures += 1
                await asyncio.sleep(min(5.0, 0.2 * 2**failures))
            except Exception:
                self._start_over(sp)
                return

    @staticmethod
    def _start_over(sp: SessionPacing) -> None:
        """After a failed fold or step (logged here): fold from the log next time, which is
        deterministic."""
        log.exception("pacing_failed", session_id=sp.session_id)
        sp.state, sp.catch_up, sp.inbox = None, False, []

    async def _step(self, sp: SessionPacing) -> None:
        runtime = await self.hub.load(sp.session_id)
        if runtime is None:  # erased: its timers went with it
            sp.inbox.clear()
            sp.fires.clear()
            sp.catch_up = False
            self.sessions.pop(sp.session_id, None)
            return
        if sp.state is None:
            record = runtime.record
            sp.state = PacingState.from_settings(
                record.id, record.settings, runtime.state.client_ids, record.scheduled_minutes
            )
            sp.catch_up = True
        events = sorted(sp.inbox, key=lambda e: e.seq)
        sp.inbox.clear()
        for event in events:
            if event.seq <= sp.state.head:
                continue
            if event.seq > sp.state.head + 1:
                await self._read_up(sp, runtime, event.seq - 1)
            self._fold(sp, runtime, event)
        fires, sp.fires = sp.fires, []
        if sp.catch_up or fires:
            sp.catch_up = False
            await self._read_up(sp, runtime, None)
        await self._save(sp)
        for timer in fires:
            await self._fire(sp, runtime, timer)
        await self._save(sp)  # what a fire read up to decide may call for more

    async def _read_up(self, sp: SessionPacing, runtime: SessionRuntime, upto: int | None) -> None:
        """Fold what the store holds after the state's head (up to `upto`, or all)."""
        assert sp.state is not None
        while upto is None or sp.state.head < upto:
            page = await self.store.read_events(sp.session_id, sp.state.head, READ_PAGE)
            for event in page:
                if upto is not None and event.seq > upto:
                    return
                self._fold(sp, runtime, event)
            if len(page) < READ_PAGE:
                return

    def _fold(self, sp: SessionPacing, runtime: SessionRuntime, event: Event) -> None:
        assert sp.state is not None
        if event.seq != sp.state.head + 1:
            return
        for timer in sp.state.apply(event):
            sp.unsaved_timers.append(TimerSpec(sp.session_id, timer.key, timer.due_at))
        tenant = self.tenants.get(runtime.record.tenant_id)
        if tenant is not None and tenant.webhook_url:
            item = outbox_item(
                tenant.id, sp.session_id, event, time.time(), self.options.retry.window_s
            )
            if item is not None:
                sp.unsaved_deliveries.append(item)

    async def _save(self, sp: SessionPacing) -> None:
        """Save what the fold called for, with the cursor; a cursor alone waits for the flush."""
        assert sp.state is not None
        if not sp.unsaved_timers and not sp.unsaved_deliveries:
            return
        # An ended session fires nothing more: its timers need not be kept.
        timers = () if sp.state.ended else tuple(sp.unsaved_timers)
        deliveries = tuple(sp.unsaved_deliveries)
        upto = sp.state.head
        await self.store.save_pacing([PacingProgress(sp.session_id, upto, timers, deliveries)])
        sp.unsaved_timers, sp.unsaved_deliveries = [], []
        sp.saved_seq = max(sp.saved_seq, upto)
        for timer in timers:
            heapq.heappush(self._due, timer.due_at)
        if timers:
            self._timer_wake.set()
        if deliveries:
            self.outbox.wake()

    # -- firing -------------------------------------------------------------------------------

    async def _fire(self, sp: SessionPacing, runtime: SessionRuntime, timer: TimerSpec) -> None:
        state = sp.state
        assert state is not None
        self.timers_fired.inc()
        try:
            if not (runtime.ended or state.ended):
                if timer.key.startswith(CHECKIN_PREFIX):
                    await self._expire_checkin(sp, runtime, timer)
                else:
                    if timer.key.startswith(LEFT_PREFIX):
                        # A return logged by any process, up to now, cancels the cue.
                        await self._read_up(sp, runtime, None)
                    cue = state.cue_for(timer.key, time.time())
                    if cue is not None:
                        await self._log_cue(runtime, cue, timer.due_at)
            await self.store.finish_timers([(timer.session_id, timer.key)])
        except StoreUnavailable:
            # The claim lapses and the timer is claimed again (here or elsewhere).
            log.warning("pacing_timer_deferred", session_id=sp.session_id)

    async def _log_cue(self, runtime: SessionRuntime, cue: Cue, due_at: float) -> int | None:
        result = await self.engine.append_system(
            runtime, "cue", cue.as_data(), event_id=cue.event_id
        )
        if result.outcome is AppendOutcome.STORED:
            self.cues.labels(cue.rule, cue.severity).inc()
            log.info(
                "cue_logged",
                session_id=runtime.id,
                seq=result.seq,
                rule=cue.rule,
                severity=cue.severity,
                late_s=round(max(0.0, time.time() - due_at), 3),
            )
        return result.seq

    async def _expire_checkin(
        self, sp: SessionPacing, runtime: SessionRuntime, timer: TimerSpec
    ) -> None:
        """One cue per addressed client that has not answered, then `checkin_expired`.

        Held under the session's send lock (which this process's answers take too) and up to
        date with the store, so an answer is either counted here or refused as `not_found`.
        """
        async with runtime.send_lock:
            await self._read_up(sp, runtime, None)
            assert sp.state is not None
            expiry = sp.state.checkin_expiry(timer.key)
            if expiry is None:
                return
            for cue in expiry.cues:
                await self._log_cue(runtime, cue, timer.due_at)
            result = await self.engine.append_system(
                runtime,
                "checkin_expired",
                CheckinExpiredData(checkin_seq=expiry.checkin_seq),
                event_id=expiry.expired_id,
                to=expiry.to,
            )
            if result.seq is not None:
                await self._applied(runtime, result.seq)

    @staticmethod
    async def _applied(runtime: SessionRuntime, seq: int) -> None:
        """Wait (up to 2 s) until the session's state here includes `seq`: sends are checked
        against it. The hub has no "applied up to" event to wait on, so this polls."""
        deadline = time.monotonic() + 2.0
        while runtime.head < seq and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    # -- loops --------------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        """Claim due timers in the store and hand each to its session."""
        options = self.options
        while True:
            try:
                claims = await self.store.claim_due_timers(
                    self.owner, time.time(), options.timer_lease_s, 200
                )
            except StoreUnavailable:
                claims = []
            except Exception:
                log.exception("pacing_claim_failed")
                claims = []
            for timer in claims:
                sp = self._session(timer.session_id)
                sp.fires.append(timer)
                self._kick(sp)
            if len(claims) == 200:
                continue
            now = time.time()
            while self._due and self._due[0] <= now:
                heapq.heappop(self._due)
            delay = options.timer_scan_s
            if self._due:
                delay = min(delay, max(0.0, self._due[0] - now))
            self._timer_wake.clear()
            await wait_event(self._timer_wake, delay)

    async def _maintenance_loop(self) -> None:
        """Flush lagging cursors, fold sessions the backlog names, forget idle sessions."""
        options = self.options
        next_backlog = 0.0  # at start: events stored before a crash may lack their timers
        while True:
            try:
                await self._flush_cursors()
                if time.monotonic() >= next_backlog:
                    await self._scan_backlog()
                    next_backlog = time.monotonic() + options.backlog_scan_s
                self._forget_idle()
            except StoreUnavailable:
                pass
            except Exception:
                log.exception("pacing_maintenance_failed")
            await asyncio.sleep(options.flush_s)

    async def _flush_cursors(self) -> None:
        progress = [
            PacingProgress(sp.session_id, sp.state.head)
            for sp in self.sessions.values()
            if sp.state is not None
            and sp.state.head > sp.saved_seq
            and not sp.busy
            and not sp.unsaved_timers
            and not sp.unsaved_deliveries
        ]
        if progress:
            await self.store.save_pacing(progress)
            for entry in progress:
                self.sessions[entry.session_id].saved_seq = entry.upto_seq
        for sp in self.sessions.values():
            if (sp.unsaved_timers or sp.unsaved_deliveries) and not sp.busy:
                sp.catch_up = True  # a save failed: the next drain saves again
                self._kick(sp)

    async def _scan_backlog(self) -> None:
        for entry in await self.store.pacing_backlog(500):
            sp = self.sessions.get(entry.session_id)
            if sp is not None and sp.state is not None and sp.state.head >= entry.head_seq:
                continue  # folded here; the next flush moves the cursor
            sp = self._session(entry.session_id)
            sp.catch_up = True
            self._kick(sp)

    def _forget_idle(self) -> None:
        loaded = self.hub.runtimes
        cutoff = time.monotonic() - self.options.idle_forget_s
        for sid, sp in list(self.sessions.items()):
            if (
                sid not in loaded
                and not sp.busy
                and sp.touched < cutoff
                and (sp.state is None or sp.state.head <= sp.saved_seq)
            ):
                del self.sessions[sid]
