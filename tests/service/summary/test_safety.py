"""The summary of contract v1.1's safety events (§9.2, §9.4) in all three formats: each
`help_now` (a retracted one left out), late answers marked late, and a `location_shared`'s text
in none of them (it is the one free text of the log)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fhir.resources.R4B.bundle import Bundle

from tests.conftest import LiveServer
from tests.service.pacing_helpers import live_pair
from tests.service.summary.support import NO_TIMED_CUES, ask, sent_seq, summary_as
from tests.support import session_seq

pytest_plugins = ["tests.service.pacing_fixtures"]
SVG = "{http://www.w3.org/2000/svg}"
PLACE = "Flat 3 <b>&amp; 'Rue de l\u2019\u00c9t\u00e9' \u202e 12"


async def test_help_late_answers_and_a_location_in_every_format(
    pacing_server: LiveServer,
) -> None:
    cues = {**NO_TIMED_CUES, "checkin_unanswered": {"after_s": 0.5}}
    sid, therapist, (client, _) = await live_pair(pacing_server, cues, clients=2)
    pair = (therapist, client)
    assert (await client.send("location_shared", {"text": PLACE}))["ok"]
    helped = await sent_seq(pair, client, "help_now")
    oops = await client.send("help_now")
    assert (await client.send("retract", {"seq": oops["seq"]}))["ok"]  # c-1's position
    oops_seq = await session_seq(therapist, client, oops["seq"])  # the summary's numbering
    suds_request = await ask(therapist, client, "suds", to=["c-1"])
    zone_request = await ask(therapist, client, "zone", to=["c-1"])
    await therapist.wait_type("checkin_expired", count=2, timeout=10)
    late_suds = await sent_seq(
        pair, client, "checkin_response", {"checkin_seq": suds_request, "value": 9}
    )
    late_zone = await sent_seq(
        pair, client, "checkin_response", {"checkin_seq": zone_request, "value": "too_much"}
    )
    on_time = await ask(therapist, client, "suds", to=["c-1"])
    in_time = await sent_seq(pair, client, "checkin_response", {"checkin_seq": on_time, "value": 4})
    assert (await pacing_server.api.call("POST", f"/api/v1/sessions/{sid}/end"))[0] == 200

    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}/summary")
    assert status == 200
    mine = body["clients"]["c-1"]
    events = {e["seq"]: e for e in await pacing_server.api.events(sid)}
    assert mine["help_now"] == [{"seq": helped, "at": events[helped]["at"]}]
    assert [(p["seq"], p["late"]) for p in mine["suds"]] == [(late_suds, True), (in_time, False)]
    assert [(z["seq"], z["late"], z["source"]) for z in mine["zones"]] == [
        (late_zone, True, "answer")
    ]
    assert body["counts"]["location_shared"] == 1
    assert PLACE not in str(body) and "Rue de" not in str(body)

    raw, _ = await summary_as(pacing_server, sid, "fhir", "application/fhir+json")
    assert b"Rue de" not in raw and "Rue de".encode("unicode_escape") not in raw
    bundle = Bundle.model_validate_json(raw)
    found = {
        int(e.resource.identifier[0].value.rsplit("/", 1)[1]): e.resource for e in bundle.entry
    }
    help_now = found[helped]
    assert help_now.code.coding[0].code == "help_now" and help_now.valueBoolean is True
    assert (
        oops_seq not in found
        and len([o for o in found.values() if o.code.coding[0].code == "help_now"]) == 1
    )
    for seq in (late_suds, late_zone):
        (tag,) = found[seq].meta.tag
        assert (tag.system, tag.code) == ("urn:session-comfort:tag", "late")
    assert found[in_time].meta is None

    raw, _ = await summary_as(pacing_server, sid, "svg", "image/svg+xml")
    assert b"Rue de" not in raw
    root = ET.fromstring(raw.decode())
    (lane,) = [
        g
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "lane" and g.get("data-client") == "c-1"
    ]
    assert len(lane.findall(f"{SVG}g[@class='help']")) == 1
    urgent = [g for g in lane.iter(f"{SVG}g") if g.get("class") == "cue urgent"]
    helps = [c for c in body["cues"] if c["data"]["rule"] == "help_requested"]
    assert len(urgent) == len(helps) >= 1  # help_requested (a help retracted at once has none)
    answers = [g for g in root.iter(f"{SVG}g") if g.get("class") == "answer"]
    titles = ["".join(g.find(f"{SVG}title").itertext()) for g in answers]
    assert [t.endswith(", late") for t in titles] == [True, False]
    hollow = [list(g)[1].get("fill") for g in answers]
    assert hollow[0] == "#ffffff" and hollow[1] != "#ffffff"  # a late answer's marker is hollow
    zone = lane.find(f"{SVG}g[@class='zone']")
    assert zone is not None and "late" in "".join(zone.find(f"{SVG}title").itertext())
    assert 'stroke-dasharray="2 2"' in ET.tostring(zone, encoding="unicode")
