"""`location_shared` (contract §9.2), the one free text of the log: in the session's events for
those who may see them (the therapists, its sender, the vendor's REST reads), and nowhere else —
not in the service's own logs (structlog, and a real process's output), not in cues, vendor
webhooks or the FHIR export, never to another client, and gone when the session is erased."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from structlog.testing import capture_logs

from tests.conftest import LiveServer
from tests.service.outbox_helpers import Receiver, tenants_with_webhook
from tests.service.pacing.support import receiving, serving
from tests.service.pacing_helpers import cues_of
from tests.support import Api, ServiceProcess, joined

WHERE = "Flat 3, 17 Quayside Lane, Gateshead: WHERE-7c1e"  # the marker the tests look for
MARK = "WHERE-7c1e"


def _location(text: str = WHERE) -> dict[str, Any]:
    return {"text": text}


async def test_location_reaches_the_therapists_and_its_sender_and_nothing_else(
    tmp_path: Path,
) -> None:
    receiver = Receiver(fail_first=0)
    with capture_logs() as logs:
        async with (
            receiving(receiver) as url,
            serving(tmp_path, tenants_with_webhook(url)) as server,
        ):
            created, therapist, (c1, c2) = await server.start_session(
                2, settings={"cues": {"pause_unacknowledged": {"after_s": 0.3}}}
            )
            sid = created["session"]["id"]
            shared = await c1.send("location_shared", _location())
            assert shared["ok"], shared
            # Urgent cues of every kind, so the vendor gets deliveries after the location.
            await c1.send("help_now")
            await c1.send("pause")
            await c1.send("zone", {"zone": "too_much"})
            await therapist.wait_for(lambda: len(cues_of(therapist)) >= 3)
            await c1.close()  # while paused: disconnected_in_distress after its grace (20 s)
            await receiver.wait(lambda: len(receiver.bodies("cue.urgent")) >= 2)

            (seen,) = await therapist.wait_type("location_shared")
            assert seen["data"] == {"text": WHERE} and seen["actor"]["id"] == "c-1"
            assert seen["to"] is None
            own_replay = await server.join(created["tokens"]["c-1"])
            await own_replay.wait_for(lambda: bool(own_replay.of_type("location_shared")))
            other_replay = await server.join(created["tokens"]["c-2"])
            events = await server.api.events(sid)
            assert [e["data"] for e in events if e["type"] == "location_shared"] == [
                {"text": WHERE}
            ]
            status, fhir = await server.api.call(
                "GET", f"/api/v1/sessions/{sid}/summary?format=fhir"
            )
            assert status == 200
            assert (await server.api.call("POST", f"/api/v1/sessions/{sid}/end"))[0] == 200
            await receiver.wait(lambda: len(receiver.bodies("session.ended")) == 1)
            await asyncio.sleep(0.3)

    # Never to another client, live or in replay.
    for peer in (c2, other_replay):
        assert peer.of_type("location_shared") == []
        assert MARK not in repr(peer.events) and MARK not in repr(peer.welcome)
    # Not in cues, vendor webhooks, the FHIR export or the service's own log.
    cues = [e for e in events if e["type"] == "cue"]
    assert {c["data"]["rule"] for c in cues} >= {"help_requested", "pause_unacknowledged"}
    assert MARK not in repr(cues)
    assert receiver.received and all(MARK.encode() not in body for _, body, _ in receiver.received)
    assert MARK not in orjson.dumps(fhir).decode()
    assert logs and MARK not in repr(logs)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x" * 201,
        "line one\nline two",  # §9.5's rules: no control characters
        "tab\there",
        "bell\x07",
        "non\ufdd0character",
        # A lone surrogate never gets this far: no JSON decoder of the service takes one
        # (tests/service/test_events.py checks that the model refuses it too).
    ],
)
async def test_a_location_outside_the_rules_is_invalid_payload_and_never_echoed(
    live_server: LiveServer, text: str
) -> None:
    created = await live_server.create_session()
    client = await live_server.join(created["tokens"]["c-1"])
    with capture_logs() as logs:
        refused = await client.send("location_shared", _location(text + MARK if text else ""))
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_payload"
    assert MARK not in refused["error"]["message"] and MARK not in repr(logs)
    for data in ({}, {"text": WHERE, "extra": 1}, {"text": 7}, {"text": None}):
        bad = await client.send("location_shared", data)
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
    fine = await client.send("location_shared", _location("é" * 200))  # 200 characters
    assert fine["ok"]
    therapist = await live_server.join(created["tokens"]["t-1"])
    forbidden = await therapist.send("location_shared", _location())
    assert forbidden["ok"] is False and forbidden["error"]["code"] == "forbidden"


async def test_a_real_process_never_prints_a_location(tmp_path: Path) -> None:
    """Its stdout and stderr at debug level, through a session that shares a location, has it
    refused once, asks for help, ends, and is erased."""
    service = await ServiceProcess(tmp_path, env={"COMFORT_LOG_LEVEL": "debug"}).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            sid = created["session"]["id"]
            therapist, (client,) = await joined(service.url, created)
            assert (await client.send("location_shared", _location()))["ok"]
            too_long = await client.send("location_shared", _location(WHERE * 5))
            assert too_long["error"]["code"] == "invalid_payload"
            await client.send("help_now")
            await therapist.wait_type("cue")
            await therapist.wait_type("location_shared")
            for path in ("/summary", "/summary?format=fhir", "/summary?format=svg", "/events"):
                assert (await api.call("GET", f"/api/v1/sessions/{sid}{path}"))[0] == 200
            await api.call("POST", f"/api/v1/sessions/{sid}/end")
            assert (await api.call("DELETE", f"/api/v1/sessions/{sid}"))[0] == 204
            await therapist.close()
            await client.close()
    finally:
        service.terminate()
    logs = service.logs()
    assert "event_stored" in logs and "location_shared" in logs  # the type, never the text
    assert MARK not in logs


async def test_an_erased_session_leaves_no_location_in_the_store_files(
    live_server: LiveServer, tmp_path: Path
) -> None:
    created = await live_server.create_session()
    sid = created["session"]["id"]
    client = await live_server.join(created["tokens"]["c-1"])
    assert (await client.send("location_shared", _location()))["ok"]
    files = [p for p in tmp_path.iterdir() if p.name.startswith("comfort.db")]
    assert MARK.encode() in b"".join(p.read_bytes() for p in files)  # it was stored
    assert (await live_server.api.call("DELETE", f"/api/v1/sessions/{sid}"))[0] == 204
    files = [p for p in tmp_path.iterdir() if p.name.startswith("comfort.db")]
    assert MARK.encode() not in b"".join(p.read_bytes() for p in files)
