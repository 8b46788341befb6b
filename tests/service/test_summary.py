"""GET /api/v1/sessions/{id}/summary: the series match what was sent; FHIR validates; the SVG
is an accessible chart of the same data; bad formats and other tenants are refused."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

import aiohttp
from fhir.resources.R4B.bundle import Bundle

from tests.conftest import LiveServer
from tests.service.pacing_helpers import cues_of, live_pair
from tests.support import OTHER_KEY, Peer, next_position, session_seq

pytest_plugins = ["tests.service.pacing_fixtures"]
SVG = "{http://www.w3.org/2000/svg}"


async def _request(therapist: Peer, client: Peer, instrument: str) -> int:
    """A new check-in; the client's position of it (its own numbering, contract §9.1)."""
    sent = therapist.send("checkin_request", {"instrument": instrument})
    return await next_position(client, "checkin_request", sent)


async def _played_session(server: LiveServer) -> tuple[str, dict[str, Any]]:
    """A short session with known signals; returns its id and what was sent."""
    sid, therapist, (client,) = await live_pair(
        server, {"pause_unacknowledged": {"enabled": False}, "repeated_pause": {"enabled": False}}
    )
    sent: dict[str, Any] = {"suds": [], "zones": []}
    for value in (2, 5, 8):
        req = await _request(therapist, client, "suds")
        ack = await client.send("checkin_response", {"checkin_seq": req, "value": value})
        sent["suds"].append((await session_seq(therapist, client, ack["seq"]), value))
    signal = await client.send("zone", {"zone": "too_much"})
    sent["zones"].append((await session_seq(therapist, client, signal["seq"]), "too_much"))
    oops = await client.send("zone", {"zone": "shut_down"})
    assert (await client.send("retract", {"seq": oops["seq"]}))["ok"]
    req = await _request(therapist, client, "zone")
    answer = await client.send("checkin_response", {"checkin_seq": req, "value": "okay"})
    sent["zones"].append((await session_seq(therapist, client, answer["seq"]), "okay"))
    await client.send("pause")
    await asyncio.sleep(0.4)
    await client.send("resume")
    mistake = await client.send("pause")
    assert (await client.send("retract", {"seq": mistake["seq"]}))["ok"]
    await client.send("grounding_started", {"exercise": "box_breathing"})
    await client.send(
        "grounding_finished", {"exercise": "box_breathing", "completed": True, "duration_s": 64.5}
    )
    await client.send("pause")  # never resumed: counts until the end
    await asyncio.sleep(0.3)
    await therapist.wait_for(lambda: len(cues_of(therapist)) >= 2)
    status, _ = await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    assert status == 200
    return sid, sent


async def test_json_summary_series_match_what_was_sent(pacing_server: LiveServer) -> None:
    sid, sent = await _played_session(pacing_server)
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}/summary")
    assert status == 200, body
    assert set(body) == {"session", "clients", "cues", "counts"}
    assert body["session"]["id"] == sid and body["session"]["state"] == "ended"
    client = body["clients"]["c-1"]
    assert set(client) == {"suds", "zones", "pauses", "paused_seconds", "grounding"}
    assert [(p["seq"], p["value"]) for p in client["suds"]] == sent["suds"]
    assert [(p["seq"], p["zone"]) for p in client["zones"]] == sent["zones"]
    assert all(set(p) == {"seq", "at", "value"} for p in client["suds"])
    assert client["pauses"] == 2  # the retracted pause is left out
    assert 0.6 <= client["paused_seconds"] < 5.0, client["paused_seconds"]
    assert client["grounding"] == [
        {"exercise": "box_breathing", "completed": True, "duration_s": 64.5}
    ]
    events = await pacing_server.api.events(sid)
    logged_cues = [e for e in events if e["type"] == "cue"]
    assert body["cues"] == logged_cues
    assert {c["data"]["rule"] for c in body["cues"]} >= {"distress_high", "out_of_window"}
    expected_counts: dict[str, int] = {}
    for event in events:
        expected_counts[event["type"]] = expected_counts.get(event["type"], 0) + 1
    assert body["counts"] == expected_counts


async def test_fhir_bundle_validates_with_one_observation_per_entry(
    pacing_server: LiveServer,
) -> None:
    sid, sent = await _played_session(pacing_server)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{pacing_server.url}/api/v1/sessions/{sid}/summary?format=fhir",
            headers={"Authorization": f"Bearer {pacing_server.api_key}"},
        ) as resp,
    ):
        assert resp.status == 200
        assert resp.content_type == "application/fhir+json"
        raw = await resp.read()
    bundle = Bundle.model_validate_json(raw)
    assert bundle.type == "collection"
    observations = [entry.resource for entry in bundle.entry or []]
    assert len(observations) == len(sent["suds"]) + len(sent["zones"])
    assert all(o.get_resource_type() == "Observation" for o in observations)
    suds = [
        (int(o.identifier[0].value.rsplit("/", 1)[1]), o.valueInteger)
        for o in observations
        if o.valueInteger is not None
    ]
    assert suds == sent["suds"]  # in log order, each with its seq
    zones = [o.valueCodeableConcept.coding[0].code for o in observations if o.valueCodeableConcept]
    assert sorted(zones) == sorted(z for _, z in sent["zones"])
    assert all(o.subject.identifier.value == "c-1" for o in observations)
    assert all(o.status == "final" and o.effectiveDateTime is not None for o in observations)


async def test_svg_timeline_is_an_accessible_chart_of_the_same_data(
    pacing_server: LiveServer,
) -> None:
    sid, sent = await _played_session(pacing_server)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{pacing_server.url}/api/v1/sessions/{sid}/summary?format=svg",
            headers={"Authorization": f"Bearer {pacing_server.api_key}"},
        ) as resp,
    ):
        assert resp.status == 200
        assert resp.content_type == "image/svg+xml"
        text = await resp.text()
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    assert "3 SUDS answer(s)" in (root.find(f"{SVG}desc").text or "")
    circles = root.findall(f".//{SVG}g[@class='suds']/{SVG}circle")
    assert len(circles) == len(sent["suds"])
    assert len(root.findall(f".//{SVG}g[@class='suds']/{SVG}polyline")) == 1
    assert len(root.findall(f".//{SVG}g[@class='pauses']/{SVG}rect")) == 2
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}/summary")
    assert len(root.findall(f".//{SVG}g[@class='cues']/{SVG}path")) == len(body["cues"])


async def test_summary_refuses_unknown_format_other_tenants_and_missing_keys(
    pacing_server: LiveServer,
) -> None:
    created = await pacing_server.create_session()
    sid = created["session"]["id"]
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}/summary?format=pdf")
    assert status == 400 and body["error"]["code"] == "invalid_body"
    status, body = await pacing_server.api.call(
        "GET", f"/api/v1/sessions/{sid}/summary", key=OTHER_KEY
    )
    assert status == 404 and body["error"]["code"] == "session_not_found"
    status, body = await pacing_server.api.call(
        "GET", f"/api/v1/sessions/{sid}/summary", key="not-a-key-at-all-0000"
    )
    assert status == 401
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}/summary")
    assert status == 200
    assert body["clients"] == {
        "c-1": {"suds": [], "zones": [], "pauses": 0, "paused_seconds": 0, "grounding": []}
    }
    assert body["cues"] == [] and body["counts"] == {}


async def test_openapi_lists_the_summary_route(pacing_server: LiveServer) -> None:
    status, doc = await pacing_server.api.call("GET", "/api/v1/openapi.json")
    assert status == 200
    op = doc["paths"]["/api/v1/sessions/{session_id}/summary"]["get"]
    assert any(p["name"] == "format" for p in op["parameters"])
