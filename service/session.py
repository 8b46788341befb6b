"""The session aggregate: state folded from a session's log, and the checks a send must pass.

Everything here is pure: `SessionState.apply(event)` moves the state on by one logged event, and
`SessionState.check_send(...)` says whether a send may be stored, given the log so far. The fold
also keeps each client's own numbering (contract §9.1): the session seqs it may see, in order
(`ClientStream`), so a position means the same in every process, after a restart and a replay.

What the fold keeps grows with the log only in machine arrays (issue 18: a loaded session's
memory, and the objects the garbage collector walks, must not grow with its log): a client's
signals are two arrays (`ClientSignals`), and a check-in is forgotten once every client it
asked has answered (a second answer is `not_found` either way).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
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
    visible_to_client,
)

UNACKNOWLEDGED_TYPES = frozenset({"pause", "slow_down", "zone", "help_now"})
OUT_OF_WINDOW = frozenset({Zone.TOO_MUCH.value, Zone.SHUT_DOWN.value})


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class ClientSignals:
    """The signals one client logged: their seqs and when each was logged (Unix seconds), in
    seq order. 16 bytes a signal, nothing for the garbage collector to walk."""

    __slots__ = ("seqs", "times")

    def __init__(self) -> None:
        self.seqs = array("q")
        self.times = array("d")

    def add(self, seq: int, at: float) -> None:
        self.seqs.append(seq)
        self.times.append(at)

    def logged_at(self, seq: int) -> float | None:
        """When the signal `seq` was logged; None if it is not one of this client's."""
        seqs = self.seqs
        index = bisect_left(seqs, seq)
        return self.times[index] if index < len(seqs) and seqs[index] == seq else None


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
    signals: ClientSignals = field(default_factory=ClientSignals)


class ClientStream:
    """The events one client may see, as its own numbering (contract §9.1): position p (1, 2, 3…)
    is the p-th visible event of the session's log. Visible seqs only ever join at the end, so a
    position, once given, never changes. One machine integer per visible event."""

    __slots__ = ("seqs",)

    def __init__(self) -> None:
        self.seqs = array("q")

    @property
    def head(self) -> int:
        """The client's head: how many events of the log so far it may see."""
        return len(self.seqs)

    def position(self, seq: int) -> int | None:
        """The client's position of session seq `seq`; None if it may not see that event."""
        seqs = self.seqs
        if seqs and seqs[-1] == seq:  # the event just applied: the live path
            return len(seqs)
        index = bisect_left(seqs, seq)
        return index + 1 if index < len(seqs) and seqs[index] == seq else None

    def seq_at(self, position: int) -> int | None:
        """The session seq at the client's `position`; None beyond its head (or below 1)."""
        return self.seqs[position - 1] if 1 <= position <= len(self.seqs) else None


@dataclass(slots=True)
class SessionState:
    """The state of one session as its log says, up to `head_seq`."""

    client_ids: tuple[str, ...]
    therapist_ids: tuple[str, ...]
    head_seq: int = 0
    clients: dict[str, ClientState] = field(default_factory=dict)
    checkins: dict[int, CheckinRecord] = field(default_factory=dict)  # awaiting an answer
    ended: bool = False
    # Presence as the log says it: widget connections and platform presence, per participant.
    connected: dict[str, bool] = field(default_factory=dict)
    on_platform: dict[str, bool] = field(default_factory=dict)
    joins: dict[str, int] = field(default_factory=dict)
    # Each client's own numbering (contract §9.1).
    streams: dict[str, ClientStream] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cid in self.client_ids:
            self.clients.setdefault(cid, ClientState())
            self.streams.setdefault(cid, ClientStream())

    # -- folding the log -------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Move the state on by one logged event (events arrive in seq order)."""
        self.head_seq = max(self.head_seq, event.seq)
        self._number(event)
        handler = _APPLY.get(event.type)
        if handler is not None:
            handler(self, event)

    def _number(self, event: Event) -> None:
        """Give the event the next position in the stream of each client that may see it."""
        if event.actor.role is Role.CLIENT:  # seen by its sender alone among the clients
            stream = self.streams.get(event.actor.id)
            if stream is not None:
                stream.seqs.append(event.seq)
            return
        for cid, stream in self.streams.items():
            if visible_to_client(event, cid):
                stream.seqs.append(event.seq)

    def _client(self, client_id: str) -> ClientState | None:
        return self.clients.get(client_id)

    def signal_owner(self, seq: int) -> str | None:
        """The client that logged the signal `seq`; None if `seq` is not a client's signal."""
        for cid, client in self.clients.items():
            if client.signals.logged_at(seq) is not None:
                return cid
        return None

    def _apply_signal(self, event: Event) -> None:
        client = self._client(event.actor.id)
        if client is None:
            return
        client.signals.add(event.seq, parse_time(event.at).timestamp())
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
        owner = self.signal_owner(body.seq)
        client = self._client(owner) if owner is not None else None
        if client is not None and body.seq in client.unacknowledged:
            client.unacknowledged.remove(body.seq)

    def _apply_retract(self, event: Event) -> None:
        body = event.body
        assert isinstance(body, SeqData)
        seq = body.seq
        client = self._client(event.actor.id)
        if client is None or client.signals.logged_at(seq) is None:
            return
        if seq in client.unacknowledged:
            client.unacknowledged.remove(seq)
        if client.pause_seq == seq:
            client.paused, client.pause_seq = False, None
        if client.pace_seq == seq:
            client.pace, client.pace_seq = None, None
        if client.zone_seq == seq:
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
        if checkin.answered.issuperset(checkin.to):
            del self.checkins[checkin.seq]  # nothing more to take: forgotten
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
            if self.signal_owner(send.data.seq) is None:
                raise SendError(f"no signal with seq {send.data.seq}", code="not_found")
        elif kind == "retract":
            assert isinstance(send.data, SeqData)
            seq = send.data.seq
            sender = self._client(sender_id)
            logged_at = sender.signals.logged_at(seq) if sender is not None else None
            if logged_at is None and seq > self.head_seq:
                raise SendError(f"no event with seq {seq}", code="not_found")
            if logged_at is None:
                raise SendError("only your own signals can be retracted", code="forbidden")
            if now.timestamp() - logged_at > RETRACT_WINDOW_S:
                raise SendError("a signal can be retracted within 30 s only", code="forbidden")
        elif kind == "checkin_response":
            assert isinstance(send.data, CheckinResponseData)
            checkin = self.checkins.get(send.data.checkin_seq)
            # An expired request still takes its one answer, logged late (contract §9.4). One
            # answered by everyone it asked is forgotten: not_found, as for a second answer.
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
