"""The session summary (contract §5): JSON, a FHIR R4 Bundle, or an SVG timeline (the route is
`GET /api/v1/sessions/{id}/summary`, in `http/api.py`).

`digest_session` folds a session's whole log into per-client series (SUDS answers, zones,
pauses, grounding) and the cues; the three formats are views of that one digest.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

from pydantic import BaseModel, ConfigDict

from .events import (
    CheckinRequestData,
    CheckinResponseData,
    CueData,
    Event,
    Exercise,
    GroundingFinishedData,
    Role,
    SeqData,
    Zone,
    ZoneData,
)
from .instruments import CODE_SYSTEM, SUDS, ZONE, ZONE_CODE_SYSTEM
from .session import parse_time
from .store.base import EventReader, SessionRecord, rfc3339
from .views import EventOut, SessionOut, event_view

READ_PAGE = 1000
FORMATS = ("json", "fhir", "svg")
_FHIR_NAMESPACE = uuid.UUID("0f6b7a1e-2c1d-4f43-9e0a-6a3c5d2b9f10")
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


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


class ZonePoint(_Out):
    seq: int
    at: str
    zone: Zone


class GroundingOut(_Out):
    exercise: Exercise
    completed: bool
    duration_s: float


class ClientSummaryOut(_Out):
    suds: list[SudsPoint]
    zones: list[ZonePoint]
    pauses: int
    paused_seconds: float
    grounding: list[GroundingOut]


class SummaryResponse(_Out):
    """The JSON summary; `?format=fhir` answers a FHIR R4 Bundle, `?format=svg` an SVG."""

    session: SessionOut
    clients: dict[str, ClientSummaryOut]
    cues: list[EventOut]
    counts: dict[str, int]


@dataclass(slots=True)
class ClientDigest:
    suds: list[SudsPoint] = field(default_factory=list)
    zones: list[ZonePoint] = field(default_factory=list)
    pauses: int = 0
    paused_seconds: float = 0.0
    grounding: list[GroundingOut] = field(default_factory=list)
    pause_spans: list[tuple[float, float]] = field(default_factory=list)  # for the chart
    open_pause: float | None = None

    def as_out(self) -> ClientSummaryOut:
        return ClientSummaryOut(
            suds=self.suds,
            zones=self.zones,
            pauses=self.pauses,
            paused_seconds=round(self.paused_seconds, 3),
            grounding=self.grounding,
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


def digest_session(
    session: SessionOut, record: SessionRecord, events: list[Event], now: datetime
) -> SessionDigest:
    """Fold the log into the summary. Retracted signals are left out; a pause never resumed
    counts until the session's end (or `now`)."""
    clients = {p.id: ClientDigest() for p in record.participants if p.role == Role.CLIENT.value}
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
        body = event.body
        if isinstance(body, CheckinRequestData):
            instruments[event.seq] = body.instrument
        elif kind == "cue":
            cues.append(event)
        client = clients.get(who) if event.actor.role is Role.CLIENT else None
        if client is None or (who, event.seq) in retracted:
            continue
        at = parse_time(event.at).timestamp()
        if kind == "pause":
            client.pauses += 1
            if client.open_pause is None:
                client.open_pause = at
        elif kind == "resume" and client.open_pause is not None:
            client.pause_spans.append((client.open_pause, at))
            client.open_pause = None
        elif isinstance(body, ZoneData):
            client.zones.append(ZonePoint(seq=event.seq, at=event.at, zone=body.zone))
        elif isinstance(body, GroundingFinishedData):
            client.grounding.append(
                GroundingOut(
                    exercise=body.exercise, completed=body.completed, duration_s=body.duration_s
                )
            )
        elif isinstance(body, CheckinResponseData):
            instrument = instruments.get(body.checkin_seq)
            value = body.value
            if instrument == "suds" and not isinstance(value, Zone):
                client.suds.append(SudsPoint(seq=event.seq, at=event.at, value=value))
            elif instrument == "zone" and isinstance(value, Zone):
                client.zones.append(ZonePoint(seq=event.seq, at=event.at, zone=value))
    created = record.created_at.timestamp()
    start = record.started_at.timestamp() if record.started_at else created
    end = record.ended_at.timestamp() if record.ended_at else now.timestamp()
    if events:
        start = min(start, parse_time(events[0].at).timestamp())
    for client in clients.values():
        if client.open_pause is not None:
            client.pause_spans.append((client.open_pause, max(end, client.open_pause)))
            client.open_pause = None
        client.paused_seconds = sum(b - a for a, b in client.pause_spans)
    return SessionDigest(session, record, start, max(end, start), clients, cues, dict(counts))


# -- FHIR ---------------------------------------------------------------------------------------


def fhir_bundle(digest: SessionDigest, now: datetime) -> dict[str, Any]:
    """A FHIR R4 Bundle (type collection) with one Observation per SUDS answer and zone."""
    sid = digest.record.id
    points: list[tuple[str, SudsPoint | ZonePoint]] = []
    for cid, client in digest.clients.items():
        points += [(cid, point) for point in client.suds]
        points += [(cid, point) for point in client.zones]
    points.sort(key=lambda p: p[1].seq)  # in log order
    entries = [_observation(sid, cid, point) for cid, point in points]
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:session-comfort:session", "value": sid},
        "type": "collection",
        "timestamp": rfc3339(now),
        "entry": entries,
    }


def _observation(sid: str, cid: str, point: SudsPoint | ZonePoint) -> dict[str, Any]:
    instrument = SUDS if isinstance(point, SudsPoint) else ZONE
    ident = f"{sid}/{point.seq}"
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:session-comfort:event", "value": ident}],
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {
            "coding": [{"system": CODE_SYSTEM, "code": instrument.id, "display": instrument.name}],
            "text": instrument.name,
        },
        "subject": {"identifier": {"system": "urn:session-comfort:participant", "value": cid}},
        "encounter": {"identifier": {"system": "urn:session-comfort:session", "value": sid}},
        "effectiveDateTime": point.at,
    }
    if isinstance(point, SudsPoint):
        resource["valueInteger"] = point.value
        resource["referenceRange"] = [
            {"low": {"value": SUDS.low}, "high": {"value": SUDS.high}, "text": "0 calm - 10 worst"}
        ]
    else:
        zone = point.zone.value
        words = ZONE.choices.get(zone, zone)
        resource["valueCodeableConcept"] = {
            "coding": [{"system": ZONE_CODE_SYSTEM, "code": zone, "display": words}],
            "text": words,
        }
    return {"fullUrl": f"urn:uuid:{uuid.uuid5(_FHIR_NAMESPACE, ident)}", "resource": resource}


# -- SVG ----------------------------------------------------------------------------------------

_W, _H = 720, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 34, 52
_LINE_COLOURS = ("#1f5f8b", "#7a4f9a", "#2e7d4f", "#9a5b1f", "#5b6770")
_SEVERITY_COLOURS = {"urgent": "#b3261e", "warn": "#b26a00", "info": "#3b6ea8"}


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def timeline_svg(digest: SessionDigest) -> str:
    """An accessible SVG chart: SUDS 0-10 lines per client, pauses shaded, cues marked."""
    start, end = digest.start, digest.end
    span = max(end - start, 1.0)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(ts: float) -> float:
        return round(_LEFT + (min(max(ts, start), end) - start) / span * plot_w, 1)

    def y(value: float) -> float:
        return round(_TOP + (10 - value) / 10 * plot_h, 1)

    answers = sum(len(c.suds) for c in digest.clients.values())
    pauses = sum(c.pauses for c in digest.clients.values())
    desc = (
        f"{answers} SUDS answer(s) from {len(digest.clients)} client(s), {pauses} pause(s) "
        f"and {len(digest.cues)} cue(s), from {_clock(start)} to {_clock(end)} UTC."
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
        f'height="{_H}" role="img" aria-labelledby="comfort-title comfort-desc" '
        'font-family="system-ui, sans-serif" font-size="11">',
        '<title id="comfort-title">Session timeline</title>',
        f'<desc id="comfort-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="#ffffff"/>',
    ]
    for value in (0, 5, 10):
        out.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(value)}" y2="{y(value)}" '
            'stroke="#d0d4d8" stroke-width="1"/>'
            f'<text x="{_LEFT - 6}" y="{y(value) + 4}" text-anchor="end" fill="#333">{value}</text>'
        )
    out.append(
        f'<text x="12" y="{_TOP + plot_h / 2}" transform="rotate(-90 12 {_TOP + plot_h / 2})" '
        'text-anchor="middle" fill="#333">SUDS</text>'
    )
    out.append('<g class="pauses">')
    for cid, client in digest.clients.items():
        for a, b in client.pause_spans:
            label = f"Pause by {cid}, {_clock(a)} to {_clock(b)} UTC"
            out.append(
                f'<rect x="{x(a)}" y="{_TOP}" width="{max(x(b) - x(a), 2)}" height="{plot_h}" '
                f'fill="#f2c94c" fill-opacity="0.35"><title>{escape(label)}</title></rect>'
            )
    out.append("</g>")
    for index, (cid, client) in enumerate(digest.clients.items()):
        colour = _LINE_COLOURS[index % len(_LINE_COLOURS)]
        points = [(x(parse_time(p.at).timestamp()), y(p.value)) for p in client.suds]
        out.append(f'<g class="suds" data-client={quoteattr(cid)}>')
        if len(points) > 1:
            path = " ".join(f"{px},{py}" for px, py in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for (px, py), point in zip(points, client.suds, strict=True):
            label = f"{cid}: SUDS {point.value} at {_clock(parse_time(point.at).timestamp())}"
            out.append(
                f'<circle cx="{px}" cy="{py}" r="3.5" fill="{colour}">'
                f"<title>{escape(label)}</title></circle>"
            )
        out.append("</g>")
    out.append('<g class="cues">')
    for cue in digest.cues:
        data = cue.body
        assert isinstance(data, CueData)
        cx = x(parse_time(cue.at).timestamp())
        colour = _SEVERITY_COLOURS.get(data.severity, "#555")
        label = f"{data.severity} cue ({data.rule}) for {data.client_id}: {data.message}"
        out.append(
            f'<path d="M{cx - 5},{_TOP - 14} L{cx + 5},{_TOP - 14} L{cx},{_TOP - 5} Z" '
            f'fill="{colour}"><title>{escape(label)}</title></path>'
        )
    out.append("</g>")
    axis_y = _TOP + plot_h
    out.append(
        f'<text x="{_LEFT}" y="{axis_y + 16}" fill="#333">{_clock(start)}</text>'
        f'<text x="{_W - _RIGHT}" y="{axis_y + 16}" text-anchor="end" fill="#333">'
        f"{_clock(end)} UTC</text>"
    )
    legend = ", ".join(digest.clients)
    out.append(
        f'<text x="{_LEFT}" y="{_H - 10}" fill="#333">Lines: SUDS per client ({escape(legend)}); '
        "shaded: pauses; triangles: cues.</text>"
    )
    out.append("</svg>")
    return "".join(out)
