"""The sessions' lifecycle as platforms drive it (service/lifecycle.py): a platform's event is
applied once per delivery and per change, and says which (`PlatformOutcome`)."""

from __future__ import annotations

from integrations.base import PlatformEvent, PlatformEventKind
from service.app import LIFECYCLE
from service.lifecycle import PlatformOutcome
from tests.conftest import LiveServer

ZOOM_BOOKING = {
    "platform": "zoom",
    "external_id": "zoom-meeting-77",
    "participants": [
        {"id": "t-1", "role": "therapist", "platform_ref": "zt"},
        {"id": "c-1", "role": "client", "platform_ref": "zc"},
    ],
}


async def test_platform_events_are_applied_once_and_say_what_they_did(live_server: LiveServer):
    created = await live_server.create_session(**ZOOM_BOOKING)
    sid = created["session"]["id"]
    lifecycle = live_server.app[LIFECYCLE]

    async def apply(kind: PlatformEventKind, meeting: str, ref: str | None, key: str):
        event = PlatformEvent(kind, meeting, ref, key)
        return await lifecycle.apply_platform_event("demo", "zoom", event)

    joined = PlatformEventKind.PARTICIPANT_JOINED
    assert await apply(joined, "zoom-meeting-77", "zc", "d-1") is PlatformOutcome.APPLIED
    assert await apply(joined, "zoom-meeting-77", "zc", "d-1") is PlatformOutcome.DUPLICATE
    # Already on the call: nothing to change, whatever the delivery.
    assert await apply(joined, "zoom-meeting-77", "zc", "d-2") is PlatformOutcome.IGNORED
    assert await apply(joined, "no-such-meeting", "zc", "d-3") is PlatformOutcome.IGNORED
    assert await apply(joined, "zoom-meeting-77", "stranger", "d-4") is PlatformOutcome.IGNORED
    left = PlatformEventKind.PARTICIPANT_LEFT
    assert await apply(left, "zoom-meeting-77", "zc", "d-5") is PlatformOutcome.APPLIED
    ended = PlatformEventKind.SESSION_ENDED
    assert await apply(ended, "zoom-meeting-77", None, "d-6") is PlatformOutcome.APPLIED
    assert await apply(ended, "zoom-meeting-77", None, "d-6") is PlatformOutcome.IGNORED

    events = await live_server.api.events(sid)
    platform = [
        (e["type"], e["data"]["participant"]["id"])
        for e in events
        if e["type"].startswith("participant_") and e["data"]["via"] == "platform"
    ]
    assert platform == [("participant_joined", "c-1"), ("participant_left", "c-1")]
    assert [e["data"] for e in events if e["type"] == "session_ended"] == [{"by": "platform"}]
