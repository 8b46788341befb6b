"""The audit trail: who did what, when, to which session, with what outcome (HIPAA audit
controls, 45 CFR 164.312(b)).

Entries hold ids and enums only: tenant, participant, session, action, outcome, and a keyed
hash of the client address (so repeated access from one address can be correlated without
keeping the address). They are written in batches off the request path and kept apart from
session logs, so erasing a session keeps the record that it was erased.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from typing import Any

import structlog

from .aio import wait_event
from .store.base import AuditEntry, AuditStore, rfc3339, utc_now

log = structlog.get_logger(__name__)

FLUSH_EVERY_S = 0.25
MAX_PENDING = 50_000


class AuditTrail:
    """Collects audit entries and writes them to the store in batches."""

    def __init__(self, store: AuditStore, address_key: str) -> None:
        self.store = store
        self._key = hashlib.sha256(("audit-address:" + address_key).encode()).digest()
        self._pending: list[AuditEntry] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self._stopping = False

    def address_hash(self, address: str | None) -> str | None:
        if not address:
            return None
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]

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
        """Queue one entry; never blocks and never fails the caller."""
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self._pending.append(
            AuditEntry(
                at=rfc3339(utc_now()),
                actor=actor,
                action=action,
                outcome=outcome,
                tenant_id=tenant_id,
                session_id=session_id,
                address_hash=self.address_hash(address),
                detail=detail,
            )
        )
        if len(self._pending) >= 500:
            self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        """Stop the loop between flushes (never mid-write), then write what is left."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
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
