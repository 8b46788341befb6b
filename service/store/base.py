"""The `Store` Protocol: the durable session log and what must survive a restart.

Implementations: `sqlite.SQLiteStore` (the embedded default) and `postgres.PostgresStore`.
Every implementation assigns `seq` atomically at append, gap-free per session, and enforces the
idempotency key (session, sender, id) so a resent `id` is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from ..events import Actor, Event

# Tables that hold rows of one session besides `sessions` (keyed by `session_id`): erasing a
# session clears every one of them. A migration that adds such a table adds its name here.
SESSION_TABLES: tuple[str, ...] = ("events", "webhook_deliveries")


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, e.g. `2026-11-25T21:55:00.123Z`."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class SessionStateName(StrEnum):
    OPEN = "open"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    id: str
    role: str
    display_name: str | None = None
    platform_ref: str | None = None


@dataclass(slots=True)
class SessionRecord:
    """A session's row: who takes part, its lifecycle and where its log stands."""

    id: str
    tenant_id: str
    platform: str
    external_id: str
    state: SessionStateName
    created_at: datetime
    scheduled_minutes: int
    participants: tuple[ParticipantRecord, ...]
    settings: dict[str, Any]
    epoch: str
    head_seq: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None

    def participant(self, participant_id: str) -> ParticipantRecord | None:
        for p in self.participants:
            if p.id == participant_id:
                return p
        return None


class AppendOutcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    ENDED = "ended"  # the session has ended: nothing stored
    MISSING = "missing"  # the session does not exist (erased)
    SKIPPED = "skipped"  # a lifecycle event that no longer applies (a second session_started)


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One event to append; `event_id` is the sender's idempotency id."""

    session_id: str
    actor: Actor
    type: str
    event_id: str
    data: dict[str, Any]
    to: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    outcome: AppendOutcome
    event: Event | None = None
    seq: int | None = None  # the stored seq, or the first seq of a duplicate


@dataclass(slots=True)
class StoreStats:
    """Counters the metrics endpoint reads."""

    batches: int = 0
    appended: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Store(Protocol):
    """The durable store behind one deployment."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached."""

    async def create_session(self, record: SessionRecord) -> None:
        """Insert a new session. Raises `Conflict` for a second not-ended (tenant, platform,
        external_id)."""

    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    async def find_session(
        self, tenant_id: str, platform: str, external_id: str
    ) -> SessionRecord | None:
        """The tenant's not-ended session with that platform meeting key."""

    async def append_batch(self, requests: list[AppendRequest]) -> list[AppendResult]:
        """Append events in one transaction, in order; each result matches its request."""

    async def read_events(self, session_id: str, after_seq: int, limit: int) -> list[Event]:
        """Events with `seq > after_seq`, oldest first, at most `limit`."""

    async def find_duplicate(self, session_id: str, actor_id: str, event_id: str) -> int | None:
        """The seq stored under this idempotency key, if any."""

    async def head_seqs(self, session_ids: list[str]) -> dict[str, int]:
        """The current head of each existing session."""

    async def erase_session(self, session_id: str) -> bool:
        """Erase the session, its log and everything kept for it, leaving nothing readable."""

    async def claim_webhook_delivery(
        self, tenant_id: str, platform: str, delivery_key: str, session_id: str | None
    ) -> bool:
        """Record a platform delivery; False when it was seen before."""
