"""The session aggregate: state folded from a session's log, and the checks a send must pass.

Everything here is pure: `SessionState.apply(event)` moves the state on by one logged event, and
`SessionState.check_send(...)` says whether a send may be stored, given the log so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .errors import SendError
from .events import (
    RETRACT_WINDOW_S,
    SIGNAL_TYPES,
    CheckinExpiredData,
    CheckinRequestData,
    CheckinResponseData,
    Event,
    Exercise,
    GroundingStartedData,
    PresenceData,
    Role,
    Send,
    SeqData,
    SuggestGroundingData,
    Zone,
    ZoneData,
)

UNACKNOWLEDGED_TYPES = frozenset({"pause", "slow_down", "zone", "help_now"})
OUT_OF_WINDOW = frozenset({Zone.TOO_MUCH.value, Zone.SHUT_DOWN.value})


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(slots=True)
class SignalRecord:
    """What later sends need to know of one logged client signal."""

    seq: int
    type: str
    client_id: str
    at: datetime
    acknowledged: bool = False
    retracted: bool = False


@dataclass(slots=True)
class CheckinRecord:
    seq: int
    instrument: str
    to: tuple[str, ...]
    answered: set[str] = field(default_factory=set)
    expired: bool = False


@dataclass(slots=True)
class ClientState:
    connected: bool = False
    paused: bool = False
    pause_seq: int | None = None
    pace: str | None = None
    pace_seq: int | None = None
    zone: Zone | None = None
    zone_seq: int | None = None
    last_suds: int | None = None
    grounding: Exercise | None = None
    open_checkins: list[int] = field(default_factory=list)
    unacknowledged: list[int] = field(default_factory=list)


@dataclass(slots=True)
class SessionState:
    """The state of one session as its log says, up to `head_seq`."""

    client_ids: tuple[str, ...]
    therapist_ids: tuple[str, ...]
    head_seq: int = 0
    clients: dict[str, ClientState] = field(default_factory=dict)
    signals: dict[int, SignalRecord] = field(default_factory=dict)
    checkins: dict[int, CheckinRecord] = field(default_factory=dict)
    ended: bool = False
    # Presence as the log says it: widget connections and platform presence, per participant.
    connected: dict[str, bool] = field(default_factory=dict)
    on_platform: dict[str, bool] = field(default_factory=dict)
    joins: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cid in self.client_ids:
            self.clients.setdefault(cid, ClientState())

    # -- folding the log -------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Move the state on by one logged event (events arrive in seq order)."""
        self.head_seq = max(self.head_seq, event.seq)
        handler = _APPLY.get(event.type)
        if handler is not None:
            handler(self, event)

    def _client(self, client_id: str) -> ClientState | None:
        return self.clients.get(client_id)

    def _apply_signal(self, event: Event) -> None:
        client = self._client(event.actor.id)
        if client is None:
            return
        record = SignalRecord(event.seq, event.type, event.actor.id, parse_time(event.at))
        self.signals[event.seq] = record
        kind = event.type
        owed = kind in UNACKNOWLEDGED_TYPES
        if kind == "pause":
            client.paused, client.pause_seq = True, event.seq
        elif kind == "resume":
            client.paused, client.pause_seq = False, None
        elif kind in ("slow_down", "keep_going"):
            client.pace, client.pace_seq = kind, event.seq
        elif kind == "zone":
            body = event.body
            assert isinstance(body, ZoneData)
            client.zone, client.zone_seq = body.zone, event.seq
            owed = body.zone in OUT_OF_WINDOW
        elif kind == "grounding_started":
            started = event.body
            assert isinstance(started, GroundingStartedData)
            client.grounding = started.exercise
        elif kind == "grounding_finished":
            client.grounding = None
        if owed:
            client.unacknowledged.append(event.seq)

    def _apply_acknowledge(self, event: Event) -> None:
        body = event.body
        assert isinstance(body, SeqData)
        record = self.signals.get(body.seq)
        if record is None:
            return
        record.acknowledged = True
        client = self._client(record.client_id)
        if client is not None and record.seq in client.unacknowledged:
            client.unacknowledged.remove(record.seq)

    def _apply_retract(self, event: Event) -> None:
        body = event.body
        assert isinstance(body, SeqData)
        record = self.signals.get(body.seq)
        client = self._client(event.actor.id)
        if record is None or client is None or record.client_id != event.actor.id:
            return
        record.retracted = True
        if record.seq in client.unacknowledged:
            client.unacknowledged.remove(record.seq)
        if client.pause_seq == record.seq:
            client.paused, client.pause_seq = False, None
        if client.pace_seq == record.seq:
            client.pace, client.pace_seq = None, None
        if client.zone_seq == record.seq:
            client.zone, client.zone_seq = None, None

    def _apply_checkin_request(self, event: Event) -> None:
        to = event.to if event.to is not None else self.client_ids
        body = event.body
        assert isinstance(body, CheckinRequestData)
        self.checkins[event.seq] = CheckinRecord(event.seq, body.instrument, tuple(to))
        for cid in to:
            client = self._client(cid)
            if client is not None:
                client.open_checkins.append(event.seq)

    def _apply_checkin_response(self, event: Event) -> None:
        body = event.body
        assert isinstance(body, CheckinResponseData)
        checkin = self.checkins.get(body.checkin_seq)
        client = self._client(event.actor.id)
        if checkin is None or client is None:
            return
        checkin.answered.add(event.actor.id)
        if checkin.seq in client.open_checkins:
            client.open_checkins.remove(checkin.seq)
        value = body.value
        if isinstance(value, Zone):
            client.zone, client.zone_seq = value, event.seq
        elif checkin.instrument == "suds":
            client.last_suds = value

    def _apply_checkin_expired(self, event: Event) -> None:
        body = event.body
        assert isinstance(body, CheckinExpiredData)
        checkin = self.checkins.get(body.checkin_seq)
        if checkin is None:
            return
        checkin.expired = True
        for cid in checkin.to:
            client = self._client(cid)
            if client is not None and checkin.seq in client.open_checkins:
                client.open_checkins.remove(checkin.seq)

    def _apply_presence(self, event: Event) -> None:
        body = event.body
        assert isinstance(body, PresenceData)
        who, joined = body.participant.id, event.type == "participant_joined"
        key = f"{body.via}:{who}"
        if joined:
            self.joins[key] = self.joins.get(key, 0) + 1
        if body.via != "widget":
            self.on_platform[who] = joined
            return
        self.connected[who] = joined
        client = self._client(who)
        if client is not None:
            client.connected = joined

    def _apply_ended(self, event: Event) -> None:
        self.ended = True

    # -- checking sends ----------------------------------------------------------------------

    def check_send(self, sender_id: str, role: Role, send: Send, now: datetime) -> None:
        """Raise `SendError` when this send may not be stored given the log so far."""
        kind = send.type
        if kind == "acknowledge":
            assert isinstance(send.data, SeqData)
            record = self.signals.get(send.data.seq)
            if record is None:
                raise SendError(f"no signal with seq {send.data.seq}", code="not_found")
        elif kind == "retract":
            assert isinstance(send.data, SeqData)
            record = self.signals.get(send.data.seq)
            if record is None and send.data.seq > self.head_seq:
                raise SendError(f"no event with seq {send.data.seq}", code="not_found")
            if record is None or record.client_id != sender_id:
                raise SendError("only your own signals can be retracted", code="forbidden")
            if (now - record.at).total_seconds() > RETRACT_WINDOW_S:
                raise SendError("a signal can be retracted within 30 s only", code="forbidden")
        elif kind == "checkin_response":
            assert isinstance(send.data, CheckinResponseData)
            checkin = self.checkins.get(send.data.checkin_seq)
            # An expired request still takes its one answer, logged late (contract §9.4).
            if checkin is None or sender_id not in checkin.to or sender_id in checkin.answered:
                raise SendError("no check-in with that seq awaits your answer", code="not_found")
            value = send.data.value
            if checkin.instrument == "suds":
                if isinstance(value, Zone) or not 0 <= value <= 10:
                    raise SendError(
                        "value: a SUDS answer is an integer 0-10", code="invalid_payload"
                    )
            elif not isinstance(value, Zone):
                raise SendError(
                    "value: a zone answer is too_much, okay or shut_down", code="invalid_payload"
                )
        elif kind in ("checkin_request", "suggest_grounding"):
            assert isinstance(send.data, CheckinRequestData | SuggestGroundingData)
            for cid in send.data.to or ():
                if cid not in self.clients:
                    raise SendError(
                        f"to: {cid[:128]!r} is not a client of this session", code="invalid_payload"
                    )

    def answer_is_late(self, checkin_seq: int) -> bool:
        """Would an answer to this check-in now come after it expired?"""
        checkin = self.checkins.get(checkin_seq)
        return checkin is not None and checkin.expired


_APPLY = {
    **{kind: SessionState._apply_signal for kind in SIGNAL_TYPES},
    "acknowledge": SessionState._apply_acknowledge,
    "retract": SessionState._apply_retract,
    "checkin_request": SessionState._apply_checkin_request,
    "checkin_response": SessionState._apply_checkin_response,
    "checkin_expired": SessionState._apply_checkin_expired,
    "participant_joined": SessionState._apply_presence,
    "participant_left": SessionState._apply_presence,
    "session_ended": SessionState._apply_ended,
}
