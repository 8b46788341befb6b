"""The typed views: every shape the service answers with, as the pydantic models the OpenAPI
document is generated from, and the functions that build them from a loaded session.

REST answers (contract §2), the socket's `welcome` and acks (§3) and error envelopes are all made
here; nothing else hand-builds them, so the document and the wire cannot disagree
(tests/service/test_views.py checks the one against the other).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .api_models import Platform
from .events import Event, Exercise, Role, Zone
from .realtime.hub import Connection, SessionRuntime
from .safety import SafetyPlan, stored_safety
from .session import SessionState
from .store.base import rfc3339


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParticipantOut(_Out):
    id: str
    role: Literal["therapist", "client"]
    display_name: str | None
    connected: bool


class SessionSettingsOut(_Out):
    """*Addition*: what a session's participants and vendor may know of its settings."""

    safety: SafetyPlan | None
    """The safety plan (contract §9.2), or null when neither the session nor its tenant has one."""


class SessionOut(_Out):
    """The contract's `Session`, and its `settings` (an addition)."""

    id: str
    platform: Platform
    external_id: str
    state: Literal["open", "live", "ended"]
    created_at: str
    started_at: str | None
    ended_at: str | None
    scheduled_minutes: int
    participants: list[ParticipantOut]
    head_seq: int
    epoch: str
    settings: SessionSettingsOut


class ActorOut(_Out):
    id: str
    role: Literal["client", "therapist", "system"]


class EventOut(_Out):
    """One event of a session's log, as stored and sent (its data as its type defines it)."""

    seq: int
    id: str
    type: str
    at: str
    actor: ActorOut
    to: list[str] | None
    data: dict[str, Any]


class SessionEnvelope(_Out):
    session: SessionOut


class CreateSessionResponse(_Out):
    session: SessionOut
    tokens: dict[str, str]


class TokenResponse(_Out):
    token: str


class EventsResponse(_Out):
    events: list[EventOut]
    head_seq: int
    epoch: str


class ErrorDetail(_Out):
    code: str
    message: str


class ErrorResponse(_Out):
    """The error envelope of every REST and webhook failure."""

    error: ErrorDetail


# -- the socket (contract §3) -----------------------------------------------------------------


class ClientStateOut(_Out):
    """One client's entry in the contract's `State`."""

    connected: bool
    paused: bool
    pace: Literal["slow_down", "keep_going"] | None
    zone: Zone | None
    last_suds: int | None
    grounding: Exercise | None
    open_checkins: list[int]
    unacknowledged: list[int]


class StateOut(_Out):
    clients: dict[str, ClientStateOut]


class ParticipantSelf(_Out):
    id: str
    role: Literal["therapist", "client"]


class Welcome(_Out):
    """What a socket is sent first: the session as its participant may see it."""

    session: SessionOut
    participant: ParticipantSelf
    epoch: str
    head_seq: int
    state: StateOut


class SendAck(_Out):
    """A stored (or already stored) send's answer."""

    ok: Literal[True] = True
    seq: int
    duplicate: bool


class ErrorAck(_Out):
    """A refused send's answer."""

    ok: Literal[False] = False
    error: ErrorDetail


# -- building them ----------------------------------------------------------------------------


def session_view(runtime: SessionRuntime, for_client: str | None = None) -> SessionOut:
    """The contract's `Session`; a client sees only the therapists and itself."""
    record = runtime.record
    connected = runtime.state.connected
    return SessionOut(
        id=record.id,
        platform=record.platform,
        external_id=record.external_id,
        state=record.state.value,
        created_at=rfc3339(record.created_at),
        started_at=rfc3339(record.started_at) if record.started_at else None,
        ended_at=rfc3339(record.ended_at) if record.ended_at else None,
        scheduled_minutes=record.scheduled_minutes,
        participants=[
            ParticipantOut(
                id=p.id,
                role=p.role,
                display_name=p.display_name,
                connected=bool(connected.get(p.id)),
            )
            for p in record.participants
            if for_client is None or p.role == Role.THERAPIST.value or p.id == for_client
        ],
        head_seq=runtime.head,
        epoch=record.epoch,
        settings=SessionSettingsOut(safety=stored_safety(record.settings)),
    )


def state_view(state: SessionState, client_id: str | None = None) -> StateOut:
    """The contract's `State`; for a client, only its own entry."""
    ids = (client_id,) if client_id is not None else state.client_ids
    clients = {}
    for cid in ids:
        client = state.clients[cid]
        clients[cid] = ClientStateOut(
            connected=client.connected,
            paused=client.paused,
            pace=client.pace,
            zone=client.zone,
            last_suds=client.last_suds,
            grounding=client.grounding,
            open_checkins=list(client.open_checkins),
            unacknowledged=list(client.unacknowledged),
        )
    return StateOut(clients=clients)


def welcome_view(runtime: SessionRuntime, conn: Connection) -> Welcome:
    """The `welcome` a socket gets on connect: the session as its participant may see it."""
    client = conn.participant_id if conn.role is Role.CLIENT else None
    return Welcome(
        session=session_view(runtime, for_client=client),
        participant=ParticipantSelf(id=conn.participant_id, role=conn.role.value),
        epoch=runtime.record.epoch,
        head_seq=runtime.head,
        state=state_view(runtime.state, client),
    )


def event_view(event: Event) -> EventOut:
    return EventOut.model_validate(event.as_dict())


def events_view(runtime: SessionRuntime, events: list[Event]) -> EventsResponse:
    """A page of the log (`GET …/events`), with where the log stands."""
    return EventsResponse(
        events=[event_view(e) for e in events], head_seq=runtime.head, epoch=runtime.record.epoch
    )
