"""The JSON summary (contract §5 and its additions in docs/protocol.md): the series match what
was sent, per client; retracted signals are left out; pauses have their spans; zones say how
they came; counts are of every event; a session with nothing in it has empty series."""

from __future__ import annotations

from service.session import parse_time
from tests.conftest import LiveServer
from tests.service.summary.support import play

pytest_plugins = ["tests.service.pacing_fixtures"]

CONTRACT_KEYS = {"suds", "zones", "pauses", "paused_seconds", "grounding"}
ADDED_KEYS = {"pause_spans", "help_now"}


async def test_json_summary_series_match_what_was_sent(pacing_server: LiveServer) -> None:
    played = await play(pacing_server)
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{played.sid}/summary")
    assert status == 200, body
    assert set(body) == {"session", "clients", "cues", "counts"}
    assert body["session"]["id"] == played.sid and body["session"]["state"] == "ended"
    assert set(body["clients"]) == {"c-1", "c-2"}
    client = body["clients"]["c-1"]
    assert set(client) == CONTRACT_KEYS | ADDED_KEYS
    assert [(p["seq"], p["value"]) for p in client["suds"]] == played.suds
    assert all(set(p) == {"seq", "at", "value", "late"} for p in client["suds"])
    assert [p["late"] for p in client["suds"]] == [False, False, False]
    assert [(p["seq"], p["zone"], p["source"]) for p in client["zones"]] == played.zones
    assert client["pauses"] == 2  # the retracted pause is left out
    assert 0.6 <= client["paused_seconds"] < 5.0, client["paused_seconds"]
    assert client["grounding"] == [
        {
            "exercise": "box_breathing",
            "completed": True,
            "duration_s": 64.5,
            "seq": played.grounding_seq,
            "at": client["grounding"][0]["at"],
        }
    ]
    assert client["help_now"] == []
    events = await pacing_server.api.events(played.sid)
    logged_cues = [e for e in events if e["type"] == "cue"]
    assert body["cues"] == logged_cues
    assert {c["data"]["rule"] for c in body["cues"]} >= {"distress_high", "out_of_window"}
    expected_counts: dict[str, int] = {}
    for event in events:
        expected_counts[event["type"]] = expected_counts.get(event["type"], 0) + 1
    assert body["counts"] == expected_counts
    # The other client's series are its own.
    other = body["clients"]["c-2"]
    assert other["suds"] == [] and other["pauses"] == 1
    assert [(z["seq"], z["source"]) for z in other["zones"]] == [(played.other_zone, "signal")]


async def test_pause_spans_run_from_the_pause_to_its_resume_or_stay_open(
    pacing_server: LiveServer,
) -> None:
    played = await play(pacing_server)
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{played.sid}/summary")
    assert status == 200
    events = {e["seq"]: e for e in await pacing_server.api.events(played.sid)}
    spans = body["clients"]["c-1"]["pause_spans"]
    assert [s["seq"] for s in spans] == played.pauses
    assert all(set(s) == {"seq", "from", "to"} for s in spans)
    first, last = spans
    assert first["from"] == events[first["seq"]]["at"]
    resume = next(
        e for s, e in sorted(events.items()) if s > first["seq"] and e["type"] == "resume"
    )
    assert first["to"] == resume["at"]
    assert last["to"] is None  # never resumed
    # paused_seconds is the spans' sum, the open one counted to the session's end.
    ended = parse_time(body["session"]["ended_at"])
    total = (parse_time(first["to"]) - parse_time(first["from"])) + (
        ended - parse_time(last["from"])
    )
    assert abs(body["clients"]["c-1"]["paused_seconds"] - total.total_seconds()) < 0.01
    (other,) = body["clients"]["c-2"]["pause_spans"]
    assert other["seq"] == played.other_pause and other["to"] is not None


async def test_a_running_session_counts_an_open_pause_until_now(
    pacing_server: LiveServer,
) -> None:
    played = await play(pacing_server, end=False)
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{played.sid}/summary")
    assert status == 200 and body["session"]["state"] == "live"
    open_span = body["clients"]["c-1"]["pause_spans"][-1]
    assert open_span["to"] is None
    status, later = await pacing_server.api.call("GET", f"/api/v1/sessions/{played.sid}/summary")
    assert later["clients"]["c-1"]["paused_seconds"] >= body["clients"]["c-1"]["paused_seconds"]


async def test_display_names_are_those_the_vendor_gave(pacing_server: LiveServer) -> None:
    played = await play(pacing_server)
    _, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{played.sid}/summary")
    names = {p["id"]: p["display_name"] for p in body["session"]["participants"]}
    assert names == {"t-1": "Dr Tessa Example", "c-1": "Clara Client1", "c-2": "Clara Client2"}


async def test_an_empty_session_has_empty_series(pacing_server: LiveServer) -> None:
    created = await pacing_server.create_session()
    sid = created["session"]["id"]
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}/summary")
    assert status == 200
    assert body["clients"] == {
        "c-1": {
            "suds": [],
            "zones": [],
            "pauses": 0,
            "paused_seconds": 0,
            "grounding": [],
            "pause_spans": [],
            "help_now": [],
        }
    }
    assert body["cues"] == [] and body["counts"] == {}
