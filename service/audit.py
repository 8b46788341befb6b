"""The audit trail: who did what, when, to which session, with what outcome (HIPAA audit
controls, 45 CFR 164.312(b)).

Entries hold ids and enums only: tenant, actor, session, action, outcome, and a keyed hash of the
client address (so repeated access from one address can be correlated without keeping the
address). A participant is named by its pseudonym (`service/pseudonyms.py`), never by the id
its vendor chose, so an erased session leaves nothing readable here. Entries are written in
batches off the request path and kept apart from session logs, so erasing a session keeps the
record that it was erased; `comfort purge` removes them once past the retention period.

Callers that proved who they are (an API key, a join token, a platform's signature) get one
entry per call (`record`). Refusals of callers that did not (`refused`) are counted instead:
one entry per minute per (action, outcome, reason, tenant), carrying the count. Why counts
rather than one bounded row each: a row per refusal, however small, lets anyone on the internet
grow the table and load the store's one writer at the rate they can send (300 keyless GETs once
wrote 7.5 MB in 2.7 s, issue 13); counted in memory, a flood costs a dictionary increment and
at most one row per key and minute, whatever its rate, and the trail stays append-only (no
UPDATE of a counter row). The price: a process killed outright loses the current minute's
counts, and a refusal row names the busiest address of its minute, not every one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from .aio import wait_event
from .pseudonyms import Pseudonyms
from .store.base import AuditEntry, AuditStore, rfc3339, utc_now

log = structlog.get_logger(__name__)

FLUSH_EVERY_S = 0.25
MAX_PENDING = 50_000
WINDOW_S = 60  # refusals are counted per minute, aligned to the clock's minutes
MAX_REFUSAL_KEYS = 1_000  # distinct (action, outcome, reason, tenant) a window counts apart
MAX_ADDRESSES = 100  # distinct addresses a refusal key tells apart in a window
MAX_TEXT = 128  # the longest string an entry keeps from its caller

PARTICIPANT = "participant:"
# Detail fields that hold a participant id (pseudonymised like the actor).
_PARTICIPANT_DETAIL = frozenset({"participant_id", "client_id"})
# What an id the service may record looks like; anything else (an 8 KB path segment) is not kept.
_ID_SHAPE = re.compile(r"[A-Za-z0-9_.:@+-]{1,64}")
_REASON_SHAPE = re.compile(r"[a-z0-9_]{1,40}")
_OVERFLOW = ("refused.other", "other", "other", None)


def bounded_id(value: str | None) -> str | None:
    """`value` when it is shaped like an id the service issues (at most 64 characters of
    `[A-Za-z0-9_.:@+-]`), else None: a caller's path segment is never recorded whole."""
    if value is None or _ID_SHAPE.fullmatch(value) is None:
        return None
    return value


def bounded_reason(value: object) -> str:
    """An error code as the trail keeps it: the service's own codes, `other` for anything else."""
    return value if isinstance(value, str) and _REASON_SHAPE.fullmatch(value) else "other"


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    return value


@dataclass
class _Tally:
    count: int = 0
    addresses: Counter[str] = field(default_factory=Counter)

    def add(self, address_hash: str | None) -> None:
        self.count += 1
        if address_hash is not None and (
            address_hash in self.addresses or len(self.addresses) < MAX_ADDRESSES
        ):
            self.addresses[address_hash] += 1


RefusalKey = tuple[str, str, str, str | None]  # action, outcome, reason, tenant


class AuditTrail:
    """Collects audit entries and writes them to the store in batches.

    Args:
        store: where the entries go.
        secret: the deployment's secret, keying the address hashes and the pseudonyms.
    """

    def __init__(self, store: AuditStore, secret: str) -> None:
        self.store = store
        self.pseudonyms = Pseudonyms(secret)
        self._key = hashlib.sha256(("audit-address:" + secret).encode()).digest()
        self._pending: list[AuditEntry] = []
        self._window_start = self._window_of(time.time())
        self._refusals: dict[RefusalKey, _Tally] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self._stopping = False

    def address_hash(self, address: str | None) -> str | None:
        if not address:
            return None
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]

    def actor_of(self, actor: str, session_id: str | None) -> str:
        """`participant:<id>` becomes `participant:<pseudonym>` (in `session_id`); other actors
        (`tenant:<id>`, `platform:<name>`, `operator`, `system`, `anonymous`) stay as they are."""
        if actor.startswith(PARTICIPANT):
            return PARTICIPANT + self.pseudonyms.pseudonym(session_id, actor[len(PARTICIPANT) :])
        return actor[:MAX_TEXT]

    def record(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        tenant_id: str | None = None,
        session_id: str | None = None,
        address: str | None = None,
        **detail: Any,
    ) -> None:
        """Queue one entry of a caller that proved who it is; never blocks and never fails the
        caller. A participant (the actor, or a `participant_id` in `detail`) is recorded by
        its pseudonym; a `session_id` not shaped like one is left out."""
        session = bounded_id(session_id)
        kept = {
            key: self.pseudonyms.pseudonym(session, value)
            if key in _PARTICIPANT_DETAIL and isinstance(value, str)
            else _bounded(value)
            for key, value in detail.items()
        }
        self._queue(
            AuditEntry(
                at=rfc3339(utc_now()),
                actor=self.actor_of(actor, session),
                action=action[:MAX_TEXT],
                outcome=outcome[:MAX_TEXT],
                tenant_id=bounded_id(tenant_id),
                session_id=session,
                address_hash=self.address_hash(address),
                detail=kept,
            )
        )

    def refused(
        self,
        action: str,
        outcome: str,
        *,
        reason: str,
        tenant_id: str | None = None,
        address: str | None = None,
    ) -> None:
        """Count one refusal of a caller that did not prove who it is (no key, a bad key or
        token, a bad signature, throttled). Written as one entry per minute and key, by
        `actor` `anonymous`, with `detail.count`; see the module docstring for why.

        Args:
            action: a bounded name: `rest.<METHOD> <route template>`, `socket.connect`.
            outcome: the HTTP status or the error code answered.
            reason: the error code answered (`bounded_reason`).
            tenant_id: a tenant the request named that exists (never the raw path segment).
        """
        self._roll(time.time())
        key: RefusalKey = (action[:MAX_TEXT], outcome[:MAX_TEXT], bounded_reason(reason), tenant_id)
        tally = self._refusals.get(key)
        if tally is None:
            if len(self._refusals) >= MAX_REFUSAL_KEYS:
                key = _OVERFLOW
                tally = self._refusals.setdefault(key, _Tally())
            else:
                tally = self._refusals[key] = _Tally()
        tally.add(self.address_hash(address))

    def _queue(self, entry: AuditEntry) -> None:
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self._pending.append(entry)
        if len(self._pending) >= 500:
            self._wake.set()

    @staticmethod
    def _window_of(now: float) -> float:
        return now - now % WINDOW_S

    def _roll(self, now: float, *, close: bool = False) -> None:
        """Queue the counted refusals once their window has passed (or now, when `close`)."""
        if not self._refusals:
            self._window_start = self._window_of(now)
            return
        if not close and now < self._window_start + WINDOW_S:
            return
        start = self._window_start
        until = min(now, start + WINDOW_S)
        at, ends = (rfc3339(datetime.fromtimestamp(t, UTC)) for t in (start, until))
        for (action, outcome, reason, tenant_id), tally in self._refusals.items():
            busiest = tally.addresses.most_common(1)
            self._queue(
                AuditEntry(
                    at=at,
                    actor="anonymous",
                    action=action,
                    outcome=outcome,
                    tenant_id=tenant_id,
                    address_hash=busiest[0][0] if busiest else None,
                    detail={
                        "count": tally.count,
                        "reason": reason,
                        "until": ends,
                        "addresses": len(tally.addresses),
                        "busiest": busiest[0][1] if busiest else 0,
                    },
                )
            )
        self._refusals = {}
        self._window_start = self._window_of(now)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        """Stop the loop between flushes (never mid-write), then write what is left, the
        current minute's refusals included."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush(close_window=True)

    async def flush(self, *, close_window: bool = False) -> None:
        """Write the queued entries; with `close_window`, the refusals counted so far in the
        current minute too (at shutdown, and in tests)."""
        self._roll(time.time(), close=close_window)
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            await self.store.append_audit(batch)
        except BaseException as exc:
            # Keep them for the next attempt (bounded by MAX_PENDING), also when cancelled.
            self._pending = batch + self._pending
            log.warning("audit_write_failed", pending=len(self._pending))
            if not isinstance(exc, Exception):
                raise

    async def _run(self) -> None:
        while not self._stopping:
            await wait_event(self._wake, FLUSH_EVERY_S)
            self._wake.clear()
            await self.flush()
