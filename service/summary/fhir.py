"""The summary as a FHIR R4 Bundle (`?format=fhir`): one Observation per SUDS answer, zone,
pause, grounding exercise and help request; the codes are documented in docs/summary.md.

Standard vocabularies are used only where they truly say what we mean: the HL7 observation
categories (`survey`, `therapy`) and UCUM seconds. We found no LOINC or SNOMED CT code for SUDS,
the window-of-tolerance zones, a client's pause, help request or grounding exercise, so those
are our own codes under `urn:session-comfort:*` systems (never dressed up as standard ones).

The subject of each Observation is the FHIR reference the vendor gave for that client at
session creation (`subject`, e.g. `Patient/123`). Without one, it is a contained Patient that
carries only the client's session-scoped identifier (`<session id>/<participant id>`): FHIR R4
places a resource with no independent identity, assembled by a secondary system, inline as a
contained resource, so no receiver can file the observation under, or merge it with, a patient
record it does not name. `location_shared` is never read, so its text can never reach the export.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ..instruments import CODE_SYSTEM, SUDS, ZONE, ZONE_CODE_SYSTEM
from ..store.base import rfc3339
from .digest import (
    ClientDigest,
    GroundingOut,
    HelpNowOut,
    SessionDigest,
    Span,
    SudsPoint,
    ZonePoint,
)
from .svg import clean_text

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CODES = "urn:session-comfort:observation"
EXERCISE_CODES = "urn:session-comfort:exercise"
METHOD_CODES = "urn:session-comfort:method"
TAG_CODES = "urn:session-comfort:tag"
PARTICIPANT_SYSTEM = "urn:session-comfort:participant"
SESSION_SYSTEM = "urn:session-comfort:session"
EVENT_SYSTEM = "urn:session-comfort:event"

_NAMESPACE = uuid.UUID("0f6b7a1e-2c1d-4f43-9e0a-6a3c5d2b9f10")
_CONTAINED_ID = "client"

EXERCISE_NAMES = {
    "box_breathing": "Box breathing",
    "breathing_478": "4-7-8 breathing",
    "paced_breathing": "Paced breathing",
    "five_senses": "5-4-3-2-1 senses",
}
METHODS = {
    "signal": "Pressed by the client, unprompted",
    "checkin": "The client's answer to the therapist's check-in",
}
CODES = {
    "pause": "Pause (the client's stop signal)",
    "help_now": "Help now (the client asked for help)",
    "grounding": "Grounding exercise",
    "grounding-completed": "Grounding exercise completed",
    "grounding-duration": "Grounding exercise duration",
}

Point = SudsPoint | ZonePoint | Span | GroundingOut | HelpNowOut


def fhir_bundle(digest: SessionDigest, now: datetime) -> dict[str, Any]:
    """A FHIR R4 Bundle (type collection), its Observations in the log's order."""
    points: list[tuple[int, ClientDigest, Point]] = []
    for client in digest.clients.values():
        series: list[list[Any]] = [
            client.suds,
            client.zones,
            client.spans,
            client.grounding,
            client.help_now,
        ]
        points += [(p.seq, client, p) for items in series for p in items]
    points.sort(key=lambda item: item[0])
    ended = digest.session.ended_at
    return {
        "resourceType": "Bundle",
        "identifier": {"system": SESSION_SYSTEM, "value": digest.record.id},
        "type": "collection",
        "timestamp": rfc3339(now),
        "entry": [_entry(digest.record.id, client, point, ended) for _, client, point in points],
    }


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def _seconds(value: float) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": "s", "system": UCUM, "code": "s"}


def _subject(sid: str, client: ClientDigest) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Observation's `subject`, and what it must contain for it."""
    given = client.participant.subject
    if given:
        return {"reference": given}, []
    patient = {
        "resourceType": "Patient",
        "id": _CONTAINED_ID,
        "identifier": [{"system": PARTICIPANT_SYSTEM, "value": clean_text(f"{sid}/{client.id}")}],
    }
    return {"reference": f"#{_CONTAINED_ID}"}, [patient]


def _entry(sid: str, client: ClientDigest, point: Point, ended: str | None) -> dict[str, Any]:
    ident = f"{sid}/{point.seq}"
    subject, contained = _subject(sid, client)
    resource: dict[str, Any] = {"resourceType": "Observation"}
    if contained:
        resource["contained"] = contained
    resource |= {
        "identifier": [{"system": EVENT_SYSTEM, "value": ident}],
        "status": "final",
        **_observed(point, ended),
        "subject": subject,
        "encounter": {"identifier": {"system": SESSION_SYSTEM, "value": sid}},
    }
    if getattr(point, "late", False):
        resource["meta"] = {
            "tag": [
                {
                    "system": TAG_CODES,
                    "code": "late",
                    "display": "Answered after the check-in had expired",
                }
            ]
        }
    resource = _ordered(resource)
    return {"fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, ident)}", "resource": resource}


def _observed(point: Point, ended: str | None) -> dict[str, Any]:
    """What was observed: category, code, method, when, and the value. `ended`: when the
    session ended, if it has."""
    if isinstance(point, SudsPoint):
        return {
            "category": _category("survey", "Survey"),
            "code": _coding(CODE_SYSTEM, SUDS.id, SUDS.name),
            "method": _coding(METHOD_CODES, "checkin", METHODS["checkin"]),
            "effectiveDateTime": point.at,
            "valueInteger": point.value,
            "referenceRange": [
                {
                    "low": {"value": SUDS.low},
                    "high": {"value": SUDS.high},
                    "text": "0 calm - 10 worst",
                }
            ],
        }
    if isinstance(point, ZonePoint):
        zone = point.zone.value
        method = "signal" if point.source == "signal" else "checkin"
        return {
            "category": _category("survey", "Survey"),
            "code": _coding(CODE_SYSTEM, ZONE.id, ZONE.name),
            "method": _coding(METHOD_CODES, method, METHODS[method]),
            "effectiveDateTime": point.at,
            "valueCodeableConcept": _coding(ZONE_CODE_SYSTEM, zone, ZONE.choices.get(zone, zone)),
        }
    if isinstance(point, Span):
        period = {"start": point.start_at}
        observed: dict[str, Any] = {
            "code": _coding(OBSERVATION_CODES, "pause", CODES["pause"]),
            "method": _coding(METHOD_CODES, "signal", METHODS["signal"]),
        }
        if point.end_at is None and ended is None:
            # Still paused in a running session: no end and no duration yet.
            return {**observed, "status": "preliminary", "effectivePeriod": period}
        # A pause never resumed lasts until the session's end (contract §5).
        period["end"] = point.end_at or max(ended or "", point.start_at)
        duration = _seconds(point.end - point.start)
        return {**observed, "effectivePeriod": period, "valueQuantity": duration}
    if isinstance(point, GroundingOut):
        exercise = point.exercise.value
        return {
            "category": _category("therapy", "Therapy"),
            "code": _coding(OBSERVATION_CODES, "grounding", CODES["grounding"]),
            "effectiveDateTime": point.at,
            "valueCodeableConcept": _coding(
                EXERCISE_CODES, exercise, EXERCISE_NAMES.get(exercise, exercise)
            ),
            "component": [
                {
                    "code": _coding(
                        OBSERVATION_CODES, "grounding-completed", CODES["grounding-completed"]
                    ),
                    "valueBoolean": point.completed,
                },
                {
                    "code": _coding(
                        OBSERVATION_CODES, "grounding-duration", CODES["grounding-duration"]
                    ),
                    "valueQuantity": _seconds(point.duration_s),
                },
            ],
        }
    return {
        "code": _coding(OBSERVATION_CODES, "help_now", CODES["help_now"]),
        "method": _coding(METHOD_CODES, "signal", METHODS["signal"]),
        "effectiveDateTime": point.at,
        "valueBoolean": True,
    }


_ORDER = (
    *("resourceType", "meta", "contained", "identifier", "status", "category", "code"),
    *("subject", "encounter", "effectiveDateTime", "effectivePeriod", "valueInteger"),
    *("valueQuantity", "valueCodeableConcept", "valueBoolean", "method", "referenceRange"),
    "component",
)


def _ordered(resource: dict[str, Any]) -> dict[str, Any]:
    """The Observation's elements in the order the R4 specification lists them (JSON does not
    require it; people reading the export expect it)."""
    return {key: resource[key] for key in _ORDER if key in resource}
