"""`?format=fhir`: a FHIR R4 Bundle that validates with `fhir.resources` (its R4B module: the
package's default is R5, and R4B keeps R4's Bundle and Observation). One Observation per SUDS
answer, zone, pause and grounding exercise, in log order; zones pressed told apart from zones
answered; the vendor's subject reference used as given, else a contained Patient; standard
codes only where they are standard (docs/summary.md)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from tests.conftest import LiveServer
from tests.service.summary.support import Played, play, summary_as
from tests.support import session_body

pytest_plugins = ["tests.service.pacing_fixtures"]

OURS = "urn:session-comfort:"
STANDARD = {
    "http://terminology.hl7.org/CodeSystem/observation-category",
    "http://unitsofmeasure.org",
}


async def fhir_of(server: LiveServer, sid: str) -> tuple[bytes, Bundle]:
    raw, _ = await summary_as(server, sid, "fhir", "application/fhir+json")
    return raw, Bundle.model_validate_json(raw)


def observations(bundle: Bundle) -> list[Observation]:
    found = [entry.resource for entry in bundle.entry or []]
    assert all(o.get_resource_type() == "Observation" for o in found)
    return found


def code_of(o: Observation) -> str:
    return str(o.code.coding[0].code)


def seq_of(o: Observation) -> int:
    return int(o.identifier[0].value.rsplit("/", 1)[1])


def systems(value: Any) -> set[str]:
    """Every `system` anywhere in a JSON value."""
    if isinstance(value, dict):
        found = {value["system"]} if isinstance(value.get("system"), str) else set()
        return found.union(*(systems(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(systems(v) for v in value))
    return set()


async def test_the_bundle_validates_with_an_observation_per_answer_zone_pause_and_grounding(
    pacing_server: LiveServer,
) -> None:
    played = await play(pacing_server)
    raw, bundle = await fhir_of(pacing_server, played.sid)
    assert bundle.type == "collection"
    found = observations(bundle)
    by_code: dict[str, list[Observation]] = {}
    for o in found:
        by_code.setdefault(code_of(o), []).append(o)
    assert [seq_of(o) for o in found] == sorted(seq_of(o) for o in found)  # log order
    suds = [(seq_of(o), o.valueInteger) for o in by_code["suds"]]
    assert suds == played.suds
    # Pressed and answered zones are told apart by their method.
    zones = [
        (seq_of(o), o.valueCodeableConcept.coding[0].code, o.method.coding[0].code)
        for o in by_code["zone"]
        if o.identifier[0].value.startswith(played.sid)
    ]
    c1_zones = [z for z in zones if z[0] != played.other_zone]
    assert c1_zones == [
        (seq, zone, "signal" if source == "signal" else "checkin")
        for seq, zone, source in played.zones
    ]
    assert all(o.method.coding[0].code == "checkin" for o in by_code["suds"])
    # Pauses: c-1's two (the retracted one left out) and c-2's one, each a period.
    assert sorted(seq_of(o) for o in by_code["pause"]) == sorted(
        [*played.pauses, played.other_pause]
    )
    for pause in by_code["pause"]:
        assert pause.effectivePeriod.start is not None and pause.effectivePeriod.end is not None
        assert pause.valueQuantity.code == "s" and pause.valueQuantity.value >= 0
        assert pause.status == "final"
    (grounding,) = by_code["grounding"]
    assert seq_of(grounding) == played.grounding_seq
    assert grounding.valueCodeableConcept.coding[0].code == "box_breathing"
    assert grounding.category[0].coding[0].code == "therapy"
    parts = {c.code.coding[0].code: c for c in grounding.component}
    assert parts["grounding-completed"].valueBoolean is True
    assert parts["grounding-duration"].valueQuantity.value == 64.5
    assert set(by_code) == {"suds", "zone", "pause", "grounding"}
    # Only our own code systems and the two standard ones we truly use.
    import orjson

    used = systems(orjson.loads(raw))
    assert {s for s in used if not s.startswith(OURS)} == STANDARD


async def test_without_a_subject_each_observation_names_its_client_in_a_contained_patient(
    pacing_server: LiveServer,
) -> None:
    played = await play(pacing_server)
    _, bundle = await fhir_of(pacing_server, played.sid)
    seen = set()
    for o in observations(bundle):
        assert o.subject.reference == "#client"
        (patient,) = o.contained
        assert patient.get_resource_type() == "Patient" and patient.id == "client"
        (ident,) = patient.identifier
        assert ident.system == "urn:session-comfort:participant"
        sid, _, participant = ident.value.partition("/")
        assert sid == played.sid
        seen.add(participant)
        assert patient.name is None  # no display names in the export
    assert seen == {"c-1", "c-2"}


async def test_the_vendors_subject_reference_is_the_observations_subject(
    pacing_server: LiveServer,
) -> None:
    body = session_body(2)
    body["participants"][1]["subject"] = "Patient/123"
    body["participants"][2]["subject"] = "https://fhir.example.org/r4/Patient/p-77"
    played = await play(pacing_server, participants=body["participants"])
    raw, bundle = await fhir_of(pacing_server, played.sid)
    subjects = {o.subject.reference for o in observations(bundle)}
    assert subjects == {"Patient/123", "https://fhir.example.org/r4/Patient/p-77"}
    assert all(o.contained is None for o in observations(bundle))
    by_client = {
        seq_of(o): o.subject.reference for o in observations(bundle) if code_of(o) == "pause"
    }
    assert by_client[played.other_pause] == "https://fhir.example.org/r4/Patient/p-77"
    assert by_client[played.pauses[0]] == "Patient/123"
    # The reference is for the export only: the Session does not echo it.
    status, session = await pacing_server.api.call("GET", f"/api/v1/sessions/{played.sid}")
    assert status == 200 and "Patient/123" not in str(session)


async def test_a_subject_must_be_a_fhir_reference_and_only_a_clients(
    pacing_server: LiveServer,
) -> None:
    for subject in (
        "Practitioner/1",  # Observation.subject is a Patient, Group, Device or Location
        "Patient/",
        "Patient/has space",
        "Patient/" + "x" * 65,
        "patient/1",
        "javascript:alert(1)",
        "urn:uuid:0f6b7a1e-2c1d-4f43-9e0a-6a3c5d2b9f10",
        "Patient/1\n",
        "",
        17,
    ):
        body = session_body()
        body["participants"][1]["subject"] = subject
        status, answer = await pacing_server.api.call("POST", "/api/v1/sessions", body)
        assert status == 400, (subject, answer)
        assert answer["error"]["code"] == "invalid_body"
        assert "subject" in answer["error"]["message"]
    body = session_body()
    body["participants"][0]["subject"] = "Patient/1"
    status, answer = await pacing_server.api.call("POST", "/api/v1/sessions", body)
    assert status == 400 and "client" in answer["error"]["message"]
    for subject in ("Patient/a.b-C9", "Group/g1/_history/3", "Device/d", "Location/home"):
        body = session_body()
        body["participants"][1]["subject"] = subject
        status, answer = await pacing_server.api.call("POST", "/api/v1/sessions", body)
        assert status == 201, (subject, answer)


async def test_a_pause_still_open_in_a_running_session_is_preliminary(
    pacing_server: LiveServer,
) -> None:
    played: Played = await play(pacing_server, end=False)
    _, bundle = await fhir_of(pacing_server, played.sid)
    pauses = {seq_of(o): o for o in observations(bundle) if code_of(o) == "pause"}
    still = pauses[played.pauses[-1]]
    assert still.status == "preliminary"
    assert still.effectivePeriod.end is None and still.valueQuantity is None
    assert pauses[played.pauses[0]].status == "final"
