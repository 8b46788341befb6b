"""The typed views: every shape the service answers with, as the pydantic models the OpenAPI
document is generated from, and the functions that build them from a loaded session.

REST answers (contract §2), the socket's `welcome` and acks (§3) and error envelopes are all made
here; nothing else hand-builds them, so the document and the wire cannot disagree
(tests/service/test_views.py checks the one against the other). What a client is sent, and the
numbers it sends, cross `ClientNumbering`: a client's own numbering (§9.1).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from .api_models import Platform
from .errors import SendError
from .events import SEQ_FIELDS, Event, Exercise, Role, Send, Zone
from .realtime.hub import Connection, SessionRuntime
from .safety import SafetyPlan, stored_safety
from .session import ClientStream, SessionState
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
    """The contract's `Session`; a client sees only the therapists and itself, and its own head
    (contract §9.1)."""
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
        head_seq=(
            runtime.head if for_client is None else ClientNumbering.head(runtime, for_client)
        ),
        epoch=record.epoch,
        settings=SessionSettingsOut(safety=stored_safety(record.settings)),
    )


def state_view(state: SessionState, client_id: str | None = None) -> StateOut:
    """The contract's `State`; for a client, only its own entry, in its own numbering."""
    ids = (client_id,) if client_id is not None else state.client_ids
    clients = {}
    for cid in ids:
        client = state.clients[cid]
        open_checkins, unacknowledged = list(client.open_checkins), list(client.unacknowledged)
        if client_id is not None:  # a client reads them in its own numbering (§9.1)
            stream = state.streams[cid]
            open_checkins = ClientNumbering.positions(stream, open_checkins)
            unacknowledged = ClientNumbering.positions(stream, unacknowledged)
        clients[cid] = ClientStateOut(
            connected=client.connected,
            paused=client.paused,
            pace=client.pace,
            zone=client.zone,
            last_suds=client.last_suds,
            grounding=client.grounding,
            open_checkins=open_checkins,
            unacknowledged=unacknowledged,
        )
    return StateOut(clients=clients)


def welcome_view(runtime: SessionRuntime, conn: Connection) -> Welcome:
    """The `welcome` a socket gets on connect: the session as its participant may see it."""
    client = conn.participant_id if conn.role is Role.CLIENT else None
    session = session_view(runtime, for_client=client)
    return Welcome(
        session=session,
        participant=ParticipantSelf(id=conn.participant_id, role=conn.role.value),
        epoch=runtime.record.epoch,
        head_seq=session.head_seq,
        state=state_view(runtime.state, client),
    )


def event_view(event: Event) -> EventOut:
    return EventOut.model_validate(event.as_dict())


def events_view(runtime: SessionRuntime, events: list[Event]) -> EventsResponse:
    """A page of the log (`GET …/events`), with where the log stands."""
    return EventsResponse(
        events=[event_view(e) for e in events], head_seq=runtime.head, epoch=runtime.record.epoch
    )


# -- a client's own numbering (contract §9.1) -------------------------------------------------


class ClientNumbering:
    """The one boundary between the session's seqs and a client's own positions (contract §9.1).

    Every number a client is sent or sends crosses here: its events, welcome head and state (out,
    `event_packet`, `head`, `positions`), its acks (`ack`), and its connect `last_seq` and the
    seqs in its sends (in, `last_seq`, `session_send`). The positions themselves come from the
    fold (`session.ClientStream`); this class only translates. Therapists, REST, summaries and
    vendor webhooks never pass through it: they keep the session's seqs.

    The `id` of every event a client sees but did not send is replaced with an opaque one keyed
    by the service's secret (the same in every process and replay), so no id, whatever its
    format (`checkin_expired:<seq>`, a platform's, a therapist client's), tells a client anything
    of the session's numbering. Nor does a `to` tell it of other clients: it is narrowed to the
    client itself (an addition, docs/protocol.md).

    Args:
        secret: the service's secret key (`Settings.resolved_secret_key`).
    """

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"comfort: client event ids", hashlib.sha256).digest()

    # -- out ---------------------------------------------------------------------------------

    def event_packet(
        self, runtime: SessionRuntime, client_id: str, event: Event, position: int
    ) -> str:
        """The Socket.IO packet of `event` for the client `client_id`, at its `position`."""
        wire = self.event_wire(runtime, client_id, event, position)
        return '2["event",' + wire.decode() + "]"

    def event_wire(
        self, runtime: SessionRuntime, client_id: str, event: Event, position: int
    ) -> bytes:
        """`event` as the client `client_id` sees it: its position for `seq`, positions in its
        data, an opaque `id` unless the client sent it, and a `to` (and `data.to`) that names
        no other client: `[client_id]` wherever the stored one names clients (an addition to
        the contract: in a couples or group session, whom else a check-in or a suggestion was
        for is another client's business)."""
        own = event.actor.role is Role.CLIENT and event.actor.id == client_id
        fields = SEQ_FIELDS.get(event.type)
        if own and fields is None and event.to is None:
            # Only the seq differs from the stored encoding: splice it (the live path's common
            # case, a client's own signal coming back to it).
            wire = event.wire
            prefix = b'{"seq":%d,' % event.seq
            if wire.startswith(prefix):
                return b'{"seq":%d,' % position + wire[len(prefix) :]
        shown = event.as_dict()
        shown["seq"] = position
        if not own:
            shown["id"] = self.opaque_id(runtime.id, event)
        data = event.data
        if event.to is not None:
            # Visible to this client, so the stored `to` holds it (events.visible_to_client).
            shown["to"] = [client_id]
        if data.get("to") is not None:  # checkin_request, suggest_grounding
            data = {**data, "to": [client_id]}
            shown["data"] = data
        if fields is not None:
            stream = runtime.state.streams[client_id]
            data = dict(data)
            for name in fields:
                seq = data.get(name)
                if isinstance(seq, int):
                    # Always one the client may see (its own signal, a check-in addressed to
                    # it); 0, which is no position, rather than a session seq otherwise.
                    data[name] = stream.position(seq) or 0
            shown["data"] = data
        return orjson.dumps(shown)

    def opaque_id(self, session_id: str, event: Event) -> str:
        """An id for `event` that reveals nothing, the same wherever and whenever it is made."""
        name = f"{session_id}\0{event.actor.id}\0{event.id}".encode()
        return "ev_" + hmac.new(self._key, name, hashlib.sha256).hexdigest()[:24]

    @staticmethod
    def head(runtime: SessionRuntime, client_id: str) -> int:
        """The client's head: how many events of the log so far it may see."""
        return runtime.state.streams[client_id].head

    @staticmethod
    def positions(stream: ClientStream, seqs: list[int]) -> list[int]:
        """The client's positions of `seqs` (events it may see)."""
        return [p for p in map(stream.position, seqs) if p is not None]

    @staticmethod
    def ack(runtime: SessionRuntime, conn: Connection, seq: int, duplicate: bool) -> SendAck:
        """The ack of a send stored at `seq` (applied here already), in the sender's numbering.

        Raises:
            SendError: `not_found` if this process cannot place it (the session was erased).
        """
        if conn.role is not Role.CLIENT:
            return SendAck(seq=seq, duplicate=duplicate)
        position = runtime.state.streams[conn.participant_id].position(seq)
        if position is None:
            raise SendError("the session no longer exists", code="not_found")
        return SendAck(seq=position, duplicate=duplicate)

    # -- in ----------------------------------------------------------------------------------

    @staticmethod
    def last_seq(runtime: SessionRuntime, conn: Connection, last_seq: int) -> int:
        """The session seq a connecting socket has seen up to, from its `last_seq`; 0 (replay
        everything) when it is above the participant's head (contract §3)."""
        if conn.role is not Role.CLIENT:
            return last_seq if last_seq <= runtime.head else 0
        if last_seq == 0:
            return 0
        seq = runtime.state.streams[conn.participant_id].seq_at(last_seq)
        return 0 if seq is None else seq

    @staticmethod
    def session_send(runtime: SessionRuntime, conn: Connection, send: Send) -> Send:
        """A client's send with the seqs in its data (positions) made the session's.

        Raises:
            SendError: `not_found` for a position the client has not been given.
        """
        fields = SEQ_FIELDS.get(send.type)
        if conn.role is not Role.CLIENT or fields is None:
            return send
        stream = runtime.state.streams[conn.participant_id]
        update: dict[str, int] = {}
        for name in fields:
            position = getattr(send.data, name)
            seq = stream.seq_at(position)
            if seq is None:
                raise SendError(f"no event with seq {position}", code="not_found")
            update[name] = seq
        return Send(id=send.id, type=send.type, data=send.data.model_copy(update=update))
