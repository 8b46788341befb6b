"""The sessions' lifecycle as vendors and platforms drive it (contract §2, §6).

`SessionLifecycle` creates a session and its join tokens, finds a tenant's session, mints a
token, ends, erases, reads the log, and applies a platform's join, leave or end (matched to the
tenant's session, deduplicated by delivery). The REST handlers (`http/api.py`) and the webhook
route (`http/webhooks.py`) are thin over it.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from .api_models import CreateSessionRequest
from .audit import AuditTrail
from .cues import resolve_cues
from .engine import SessionEngine
from .errors import ParticipantNotFound, SessionEnded, SessionNotFound
from .events import SYSTEM_ACTOR
from .realtime.hub import Hub, SessionRuntime
from .realtime.presence import PresenceKeeper
from .store.base import (
    AppendOutcome,
    ParticipantRecord,
    SessionLogStore,
    SessionRecord,
    SessionStateName,
    WebhookDedupeStore,
    utc_now,
)
from .tenants import Tenant
from .tokens import TokenIssuer
from .views import EventsResponse, SessionOut, events_view, session_view

if TYPE_CHECKING:
    from integrations.base import PlatformEvent

log = structlog.get_logger(__name__)


class PlatformOutcome(StrEnum):
    """What a platform's event did to the tenant's session."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this delivery (or its event) was applied before
    IGNORED = "ignored"  # no matching session or participant, or nothing to change


class LifecycleStore(SessionLogStore, WebhookDedupeStore, Protocol):
    """What the lifecycle needs of the store: the sessions and their logs, and the platform
    deliveries already applied."""


class ErasureBroadcast(Protocol):
    """Tells the other processes of a deployment that a session was erased (`Cluster`)."""

    async def broadcast_erase(self, session_id: str) -> None: ...


def new_session_id() -> str:
    return "ses_" + secrets.token_urlsafe(16)


class SessionLifecycle:
    """What vendors and platforms ask of a session.

    Args:
        erasures: the cluster, in a Redis deployment (None in a single process).
        max_sessions_per_tenant: sessions not ended one tenant may hold (0: no limit).
    """

    def __init__(
        self,
        store: LifecycleStore,
        engine: SessionEngine,
        hub: Hub,
        presence: PresenceKeeper,
        tokens: TokenIssuer,
        audit: AuditTrail,
        *,
        erasures: ErasureBroadcast | None = None,
        max_sessions_per_tenant: int = 0,
    ) -> None:
        self.store = store
        self.max_sessions_per_tenant = max_sessions_per_tenant
        self.engine = engine
        self.hub = hub
        self.presence = presence
        self.tokens = tokens
        self.audit = audit
        self.erasures = erasures

    # -- vendors (REST) ----------------------------------------------------------------------

    async def create_session(
        self, tenant_id: str, body: CreateSessionRequest, tenant: Tenant | None = None
    ) -> tuple[SessionOut, dict[str, str]]:
        """Create a session and a join token for each participant.

        Raises:
            Conflict: a not-ended session of this tenant has the same platform and external_id.
            QuotaExceeded: the tenant holds `max_sessions_per_tenant` sessions not ended.
            ValidationError: the cue settings do not validate over the tenant's defaults.
        """
        cues = resolve_cues(
            tenant.cues if tenant else {}, body.settings.cues.model_dump(exclude_unset=True)
        )
        # A session's own safety plan (null included) replaces the tenant's: never merged.
        given = "safety" in body.settings.model_fields_set
        safety = body.settings.safety if given else (tenant.safety if tenant else None)
        record = SessionRecord(
            id=new_session_id(),
            tenant_id=tenant_id,
            platform=body.platform,
            external_id=body.external_id,
            state=SessionStateName.OPEN,
            created_at=utc_now(),
            scheduled_minutes=body.scheduled_minutes,
            participants=tuple(
                ParticipantRecord(p.id, p.role, p.display_name, p.platform_ref, p.subject)
                for p in body.participants
            ),
            settings={
                "cues": cues.model_dump(),
                "safety": safety.model_dump(exclude_none=True) if safety else None,
            },
            epoch=secrets.token_hex(8),
        )
        await self.store.create_session(record, max_active=self.max_sessions_per_tenant)
        tokens = {p.id: self.tokens.mint(record.id, p.id, p.role) for p in record.participants}
        self._audit(tenant_id, "token.mint", record.id, participants=len(tokens))
        log.info(
            "session_created",
            session_id=record.id,
            tenant=tenant_id,
            platform=record.platform,
            participants=len(record.participants),
        )
        runtime = await self.hub.load(record.id)
        assert runtime is not None
        return session_view(runtime), tokens

    async def runtime_for(self, tenant_id: str, session_id: str) -> SessionRuntime:
        """The tenant's session, loaded. Raises `SessionNotFound` for another tenant's."""
        runtime = await self.hub.load(session_id)
        if runtime is None or runtime.record.tenant_id != tenant_id:
            raise SessionNotFound("no such session")
        return runtime

    async def mint_token(self, tenant_id: str, session_id: str, participant_id: str) -> str:
        """A new join token for a participant of a session that has not ended.

        Raises:
            SessionNotFound, ParticipantNotFound, SessionEnded.
        """
        runtime = await self.runtime_for(tenant_id, session_id)
        participant = runtime.record.participant(participant_id)
        if participant is None:
            raise ParticipantNotFound("no such participant in this session")
        if runtime.ended:
            raise SessionEnded("the session has ended")
        log.info("token_minted", session_id=session_id, participant_id=participant_id)
        self._audit(tenant_id, "token.mint", session_id, participant_id=participant_id)
        return self.tokens.mint(session_id, participant_id, participant.role)

    async def end_session(self, tenant_id: str, session_id: str) -> SessionRuntime:
        """The vendor ends the session (idempotent)."""
        runtime = await self.runtime_for(tenant_id, session_id)
        await self.engine.end_session(runtime, by="vendor")
        return runtime

    async def erase_session(self, tenant_id: str, session_id: str) -> None:
        """Erase a session everywhere: store first, then this process's memory and sockets,
        then the other processes'."""
        await self.runtime_for(tenant_id, session_id)
        self.hub.erased.add(session_id)  # nothing may load it again while it is erased
        await self.store.erase_session(session_id)
        self._audit(tenant_id, "session.erase", session_id)
        await self.hub.drop(session_id)
        if self.erasures is not None:
            await self.erasures.broadcast_erase(session_id)
        log.info("session_erased", session_id=session_id)

    async def read_events(
        self, tenant_id: str, session_id: str, after: int, limit: int
    ) -> EventsResponse:
        """A page of the tenant's session's log, after seq `after`."""
        runtime = await self.runtime_for(tenant_id, session_id)
        events = await self.store.read_events(session_id, after, limit)
        return events_view(runtime, events)

    def _audit(self, tenant_id: str, action: str, session_id: str, **detail: Any) -> None:
        self.audit.record(
            f"tenant:{tenant_id}",
            action,
            "ok",
            tenant_id=tenant_id,
            session_id=session_id,
            **detail,
        )

    # -- platforms ---------------------------------------------------------------------------

    async def apply_platform_event(
        self, tenant_id: str, platform: str, event: PlatformEvent
    ) -> PlatformOutcome:
        """Log a platform's join, leave or end for the tenant's matching session.

        The delivery is recorded only after it has been applied, and the event it logs has an id
        derived from the delivery, so a delivery is applied once even when the process dies
        half-way or the platform repeats it.
        """
        record = await self.store.find_session(tenant_id, platform, event.meeting_key)
        if record is None:
            return PlatformOutcome.IGNORED
        kind = str(event.kind)
        digest = hashlib.sha256(f"{platform}:{event.delivery_key}".encode()).hexdigest()[:40]
        event_id = "session_ended" if kind == "session_ended" else f"{kind}:platform:{digest}"
        if (
            kind != "session_ended"
            and await self.store.find_duplicate(record.id, SYSTEM_ACTOR.id, event_id) is not None
        ):
            return PlatformOutcome.DUPLICATE
        outcome = await self._apply_platform(record.id, kind, event, event_id)
        first = await self.store.claim_webhook_delivery(
            tenant_id, platform, event.delivery_key, record.id
        )
        if first or outcome is PlatformOutcome.APPLIED:
            return outcome
        return PlatformOutcome.DUPLICATE

    async def _apply_platform(
        self, session_id: str, kind: str, event: PlatformEvent, event_id: str
    ) -> PlatformOutcome:
        runtime = await self.hub.load(session_id)
        if runtime is None or runtime.ended:
            return PlatformOutcome.IGNORED
        if kind == "session_ended":
            await self.engine.end_session(runtime, by="platform")
            return PlatformOutcome.APPLIED
        participant = next(
            (
                p
                for p in runtime.record.participants
                if p.platform_ref and p.platform_ref == event.participant_ref
            ),
            None,
        )
        if participant is None:
            return PlatformOutcome.IGNORED
        joined = kind == "participant_joined"
        # Up to date with every process: a leave logged elsewhere a moment ago must not make
        # this return look like a repeat (contract §9.3: a return by any route counts).
        await self.engine.caught_up(runtime)
        if bool(runtime.state.on_platform.get(participant.id)) == joined:
            return PlatformOutcome.IGNORED
        result = await self.presence.log_presence(
            runtime, participant.id, "platform", joined=joined, event_id=event_id
        )
        if result is not None and result.outcome is AppendOutcome.STORED:
            return PlatformOutcome.APPLIED
        return PlatformOutcome.DUPLICATE
