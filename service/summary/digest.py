"""The digest of a session's log, and the JSON summary made from it (contract §5, and the
additions listed in docs/protocol.md).

`digest_session` folds the whole log into per-client series (SUDS answers, zones, pauses,
grounding, help requests) and the cues; the JSON answer, the FHIR Bundle (`fhir.py`) and the SVG
timeline (`svg.py`) are views of that one digest. Nothing of a `location_shared` event is read
here: the summary counts it, and that is all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..events import (
    CheckinRequestData,
    CheckinResponseData,
    Event,
    Exercise,
    GroundingFinishedData,
    Role,
    SeqData,
    Zone,
    ZoneData,
)
from ..session import parse_time
from ..store.base import EventReader, ParticipantRecord, SessionRecord
from ..views import EventOut, SessionOut, event_view

READ_PAGE = 1000
FORMATS = ("json", "fhir", "svg")
ZoneSource = Literal["signal", "answer"]
Late = Annotated[
    bool,
    Field(description="*Addition*: true for an answer given after its check-in expired (§9.4)"),
]
PressedAt = Annotated[
    str | None,
    Field(
        exclude_if=lambda value: value is None,
        description=(
            "*Addition*: when the client pressed it on its device (RFC 3339 UTC), if the widget "
            "said so: a press kept offline and sent later (`pressed_at`, docs/protocol.md); "
            "absent otherwise"
        ),
    ),
]


class SummaryQuery(BaseModel):
    """`?format=`: `json` (default), `fhir` (a FHIR R4 Bundle) or `svg` (a timeline chart)."""

    model_config = ConfigDict(extra="ignore")
    format: Literal["json", "fhir", "svg"] = "json"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SudsPoint(_Out):
    seq: int
    at: str
    value: int
    late: Late = False
    pressed_at: PressedAt = None


class ZonePoint(_Out):
    seq: int
    at: str
    zone: Zone
    source: ZoneSource = Field(
        description="*Addition*: `signal` (the client pressed it) or `answer` (to a check-in)"
    )
    late: Late = False
    pressed_at: PressedAt = None


class GroundingOut(_Out):
    exercise: Exercise
    completed: bool
    duration_s: float
    seq: int = Field(description="*Addition*: the `grounding_finished` event")
    at: str = Field(description="*Addition*: when the exercise finished")


class PauseSpan(_Out):
    """*Addition*: one pause, from the `pause` that opened it to the `resume` that closed it."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)
    seq: int = Field(description="the pause that opened it")
    start: str = Field(alias="from")
    end: str | None = Field(
        alias="to", description="the resume that closed it; null: never resumed"
    )
    pressed_at: PressedAt = None


class HelpNowOut(_Out):
    """*Addition*: one `help_now` (contract §9.2) that was not retracted."""

    seq: int
    at: str
    pressed_at: PressedAt = None


class ClientSummaryOut(_Out):
    suds: list[SudsPoint]
    zones: list[ZonePoint]
    pauses: int
    paused_seconds: float
    grounding: list[GroundingOut]
    pause_spans: list[PauseSpan] = Field(description="*Addition*: each pause, in order")
    help_now: list[HelpNowOut] = Field(description="*Addition*: each help request, in order")


class SummaryResponse(_Out):
    """The JSON summary; `?format=fhir` answers a FHIR R4 Bundle, `?format=svg` an SVG."""

    session: SessionOut
    clients: dict[str, ClientSummaryOut]
    cues: list[EventOut]
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Span:
    """A pause as the digest holds it: its times as seconds, and `end_at` None while open."""

    seq: int
    start_at: str
    end_at: str | None
    start: float
    end: float
    pressed_at: str | None = None


@dataclass(slots=True)
class ClientDigest:
    participant: ParticipantRecord
    suds: list[SudsPoint] = field(default_factory=list)
    zones: list[ZonePoint] = field(default_factory=list)
    pauses: int = 0
    grounding: list[GroundingOut] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    help_now: list[HelpNowOut] = field(default_factory=list)
    open_pause: tuple[int, str, float, str | None] | None = None

    @property
    def id(self) -> str:
        return self.participant.id

    @property
    def name(self) -> str:
        """The display name the vendor gave, else the participant id."""
        return self.participant.display_name or self.participant.id

    @property
    def paused_seconds(self) -> float:
        return sum(span.end - span.start for span in self.spans)

    def as_out(self) -> ClientSummaryOut:
        return ClientSummaryOut(
            suds=self.suds,
            zones=self.zones,
            pauses=self.pauses,
            paused_seconds=round(self.paused_seconds, 3),
            grounding=self.grounding,
            pause_spans=[
                PauseSpan(seq=s.seq, start=s.start_at, end=s.end_at, pressed_at=s.pressed_at)
                for s in self.spans
            ],
            help_now=self.help_now,
        )


@dataclass(slots=True)
class SessionDigest:
    session: SessionOut
    record: SessionRecord
    start: float
    end: float
    clients: dict[str, ClientDigest]
    cues: list[Event]
    counts: dict[str, int]

    def as_out(self) -> SummaryResponse:
        return SummaryResponse(
            session=self.session,
            clients={cid: c.as_out() for cid, c in self.clients.items()},
            cues=[event_view(cue) for cue in self.cues],
            counts=self.counts,
        )


async def read_log(store: EventReader, session_id: str) -> list[Event]:
    """The session's whole log, oldest first."""
    events: list[Event] = []
    while True:
        page = await store.read_events(session_id, events[-1].seq if events else 0, READ_PAGE)
        events.extend(page)
        if len(page) < READ_PAGE:
            return events


def _is_late(body: CheckinResponseData) -> bool:
    # `late` is added by the service to an answer given after its request expired (§9.4).
    return getattr(body, "late", None) is True


def digest_session(
    session: SessionOut, record: SessionRecord, events: list[Event], now: datetime
) -> SessionDigest:
    """Fold the log into the summary. Retracted signals are left out; a pause never resumed
    counts until the session's end (or `now`)."""
    clients = {p.id: ClientDigest(p) for p in record.participants if p.role == Role.CLIENT.value}
    retracted = {
        (e.actor.id, body.seq)
        for e in events
        if e.type == "retract" and isinstance(body := e.body, SeqData)
    }
    instruments: dict[int, str] = {}
    cues: list[Event] = []
    counts: Counter[str] = Counter()
    for event in events:
        counts[event.type] += 1
        kind, who = event.type, event.actor.id
        if kind == "checkin_request" and isinstance(body := event.body, CheckinRequestData):
            instruments[event.seq] = body.instrument
        elif kind == "cue":
            cues.append(event)
        client = clients.get(who) if event.actor.role is Role.CLIENT else None
        if client is None or (who, event.seq) in retracted:
            continue
        _fold(client, event, instruments)
    created = record.created_at.timestamp()
    start = record.started_at.timestamp() if record.started_at else created
    end = record.ended_at.timestamp() if record.ended_at else now.timestamp()
    if events:
        start = min(start, parse_time(events[0].at).timestamp())
    for client in clients.values():
        if client.open_pause is not None:
            seq, at, ts, pressed = client.open_pause
            client.spans.append(Span(seq, at, None, ts, max(end, ts), pressed))
            client.open_pause = None
    return SessionDigest(session, record, start, max(end, start), clients, cues, dict(counts))


def _pressed_at(event: Event) -> str | None:
    """The client's own press time, when its widget sent one (docs/protocol.md)."""
    return getattr(event.body, "pressed_at", None)


def _fold(client: ClientDigest, event: Event, instruments: dict[int, str]) -> None:
    """One client event, not retracted, into its client's digest. Only the types named here
    are read (never a `location_shared`'s text)."""
    kind, seq, at = event.type, event.seq, event.at
    pressed = _pressed_at(event)
    if kind == "pause":
        client.pauses += 1
        if client.open_pause is None:
            client.open_pause = (seq, at, parse_time(at).timestamp(), pressed)
    elif kind == "resume" and client.open_pause is not None:
        opened, opened_at, began, opened_pressed = client.open_pause
        ended = parse_time(at).timestamp()
        client.spans.append(Span(opened, opened_at, at, began, ended, opened_pressed))
        client.open_pause = None
    elif kind == "help_now":
        client.help_now.append(HelpNowOut(seq=seq, at=at, pressed_at=pressed))
    elif kind == "zone" and isinstance(body := event.body, ZoneData):
        client.zones.append(
            ZonePoint(seq=seq, at=at, zone=body.zone, source="signal", pressed_at=pressed)
        )
    elif kind == "grounding_finished" and isinstance(body := event.body, GroundingFinishedData):
        client.grounding.append(
            GroundingOut(
                exercise=body.exercise,
                completed=body.completed,
                duration_s=body.duration_s,
                seq=seq,
                at=at,
            )
        )
    elif kind == "checkin_response" and isinstance(body := event.body, CheckinResponseData):
        instrument, value, late = instruments.get(body.checkin_seq), body.value, _is_late(body)
        if instrument == "suds" and not isinstance(value, Zone):
            client.suds.append(
                SudsPoint(seq=seq, at=at, value=value, late=late, pressed_at=pressed)
            )
        elif instrument == "zone" and isinstance(value, Zone):
            client.zones.append(
                ZonePoint(
                    seq=seq, at=at, zone=value, source="answer", late=late, pressed_at=pressed
                )
            )
