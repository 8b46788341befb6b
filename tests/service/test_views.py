"""The wire and the models agree (service/views.py): every answer of a real server, REST and
socket, is exactly what the OpenAPI document and the typed views say, no field more or less; and
every logged event's data is exactly its type's model (service/events.py `DATA_MODELS`)."""

from __future__ import annotations

import asyncio
from typing import Any

import jsonschema_rs
import pytest
import socketio
from pydantic import BaseModel

from service.events import DATA_MODELS
from service.http.openapi import build_openapi
from service.views import ErrorAck, ErrorDetail, SendAck, Welcome
from tests.conftest import LiveServer


def _schema_of(name: str) -> jsonschema_rs.Validator:
    document = build_openapi()
    return jsonschema_rs.validator_for(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": document["components"],
            "$ref": f"#/components/schemas/{name}",
        }
    )


def _answer_schema(method: str, path: str, status: int) -> jsonschema_rs.Validator:
    """The schema the OpenAPI document gives for that route's answer."""
    operation = build_openapi()["paths"][path][method]
    ref = operation["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
    return _schema_of(ref.rsplit("/", 1)[1])


def _exactly(model: type[BaseModel], wire: dict[str, Any]) -> None:
    """`wire` is an instance of `model` with nothing left out or added."""
    assert model.model_validate(wire).model_dump(mode="json") == wire


SESSION = "/api/v1/sessions/{session_id}"
SAFETY = {
    "ask_location": True,
    "resources": [
        {"label": "Crisis line", "phone": "988", "sms": "988"},
        {"label": "Help online", "url": "https://988lifeline.org/"},
    ],
}


async def test_rest_answers_are_what_the_openapi_document_says(live_server: LiveServer):
    api = live_server.api
    status, created = await api.call(
        "POST",
        "/api/v1/sessions",
        {
            "platform": "zoom",
            "external_id": "views-1",
            "participants": [
                {"id": "t-1", "role": "therapist", "display_name": "T"},
                {"id": "c-1", "role": "client"},
            ],
            "settings": {"safety": SAFETY},
        },
    )
    assert status == 201
    _answer_schema("post", "/api/v1/sessions", 201).validate(created)
    assert (
        created["session"]["settings"]["safety"]["resources"][1]["url"]
        == SAFETY["resources"][1]["url"]
    )
    sid = created["session"]["id"]
    client = await live_server.join(created["tokens"]["c-1"])
    therapist = await live_server.join(created["tokens"]["t-1"])
    await client.send("zone", {"zone": "too_much"})
    await therapist.wait_type("cue")
    checks = [
        ("get", SESSION, "GET", f"/api/v1/sessions/{sid}", None, 200),
        ("get", SESSION + "/events", "GET", f"/api/v1/sessions/{sid}/events", None, 200),
        ("get", SESSION + "/summary", "GET", f"/api/v1/sessions/{sid}/summary", None, 200),
        (
            "post",
            SESSION + "/tokens",
            "POST",
            f"/api/v1/sessions/{sid}/tokens",
            {"participant_id": "c-1"},
            200,
        ),
        ("post", SESSION + "/end", "POST", f"/api/v1/sessions/{sid}/end", None, 200),
    ]
    for method, path, verb, url, body, expected in checks:
        status, answer = await api.call(verb, url, body)
        assert status == expected, (url, answer)
        _answer_schema(method, path, expected).validate(answer)
    status, events = await api.call("GET", f"/api/v1/sessions/{sid}/events")
    assert {e["type"] for e in events["events"]} >= {"zone", "cue", "session_ended"}


async def test_rest_and_webhook_errors_are_the_error_envelope(live_server: LiveServer):
    envelope = _schema_of("ErrorResponse")
    answers = [
        await live_server.api.call("GET", "/api/v1/sessions/nope"),
        await live_server.api.call("GET", "/api/v1/sessions/nope", key="wrong-key"),
        await live_server.api.call("POST", "/api/v1/sessions", raw=b"{not json"),
        await live_server.api.call("POST", "/webhooks/demo/zoom", raw=b"{}"),
    ]
    assert [status for status, _ in answers] == [404, 401, 400, 404]
    for _, body in answers:
        envelope.validate(body)
        _exactly(ErrorDetail, body["error"])


async def test_welcome_and_acks_are_exactly_the_typed_views(live_server: LiveServer):
    created = await live_server.create_session(clients=2, settings={"safety": SAFETY})
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = await live_server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    for peer in (therapist, client):
        assert peer.welcome is not None
        _exactly(Welcome, peer.welcome)
    again = await live_server.join(created["tokens"]["c-1"])
    assert again.welcome is not None
    _exactly(Welcome, again.welcome)
    assert set(again.welcome["state"]["clients"]) == {"c-1"}

    stored = await client.send("pause", id="views-pause")
    duplicate = await client.send("pause", id="views-pause")
    refused = await client.send("acknowledge", {"seq": 1})
    unknown = dict(await client.client.call("nonsense", {}, timeout=5))
    _exactly(SendAck, stored)
    _exactly(SendAck, duplicate)
    assert duplicate["duplicate"] is True and duplicate["seq"] == stored["seq"]
    for ack in (refused, unknown):
        _exactly(ErrorAck, ack)


async def test_a_refused_connect_carries_the_error_detail(live_server: LiveServer):
    peer = live_server.peer("not-a-token")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect()
    await asyncio.sleep(0)
    error = peer.connect_error
    assert error["code"] == "invalid_token" and isinstance(error["message"], str)
    _exactly(ErrorDetail, error["data"])


async def test_every_logged_event_s_data_is_exactly_its_type_s_model(live_server: LiveServer):
    """A session that logs every event type there is; each stored `data` validates as its
    type's model and dumps back to the same JSON."""
    created = await live_server.create_session(
        settings={"cues": {"checkin_unanswered": {"after_s": 0.5}}}
    )
    sid = created["session"]["id"]
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = await live_server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    pause = await client.send("pause")
    await client.send("resume")
    await client.send("keep_going")
    await client.send("slow_down")
    await client.send("zone", {"zone": "shut_down"})
    await client.send("grounding_started", {"exercise": "box_breathing"})
    await client.send(
        "grounding_finished", {"exercise": "box_breathing", "completed": True, "duration_s": 64.5}
    )
    await client.send("retract", {"seq": pause["seq"]})
    await therapist.send("acknowledge", {"seq": pause["seq"]})
    await therapist.send("suggest_grounding", {"exercise": "five_senses", "to": ["c-1"]})
    suds = await therapist.send("checkin_request", {"instrument": "suds"})
    await client.send("checkin_response", {"checkin_seq": suds["seq"], "value": 9})
    zone = await therapist.send("checkin_request", {"instrument": "zone"})
    await client.send("checkin_response", {"checkin_seq": zone["seq"], "value": "okay"})
    await client.send("help_now")
    await client.send("location_shared", {"text": "At home, in the kitchen"})
    unanswered = await therapist.send("checkin_request", {"instrument": "suds"})
    await therapist.wait_type("checkin_expired", timeout=10)
    late = await client.send("checkin_response", {"checkin_seq": unanswered["seq"], "value": 4})
    assert late["ok"], late
    await client.close()
    await therapist.wait_type("participant_left")
    await therapist.send("end_session")
    await asyncio.sleep(0.3)
    events = await live_server.api.events(sid)
    logged = {e["type"] for e in events}
    assert logged == set(DATA_MODELS), set(DATA_MODELS) - logged
    assert {"checkin_seq": unanswered["seq"], "value": 4, "late": True} in [
        e["data"] for e in events
    ]
    for event in events:
        model = DATA_MODELS[event["type"]]
        data = event["data"]
        assert model.model_validate(data).model_dump(mode="json", exclude_none=True) == data
