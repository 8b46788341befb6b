"""Self-hosted Jitsi against event_sync's README and module (data/jitsi_event_sync_readme.json).

Source: jitsi-contrib/prosody-plugins@cd9b905 `event_sync/README.md` (the four example bodies,
the paths `${api_prefix}/events/...`, `api_headers` with `Authorization: Bearer TOKEN-…`, and
"Events from breakout rooms") and `event_sync/mod_event_sync_component.lua` (Content-Type
application/json; `include_user_info` copies the whole JWT user context into the occupant).
"""

from __future__ import annotations

import json
import time

import pytest
from published import load, receive, request

from integrations.base import InvalidSignature, PlatformEventKind

README = load("jitsi_event_sync_readme")
TOKEN = README["api_headers_example"]["Authorization"].removeprefix("Bearer ")
CONFIG = {"bearer_token": TOKEN}
HEADERS = {
    **README["api_headers_example"],
    "Content-Type": "application/json",
    "User-Agent": "Prosody (0.12.4; posix)",
}


def at(name: str, body: str, headers: dict[str, str] = HEADERS):
    path = f"/webhooks/acme/jitsi/{README['paths'][name]}"
    return request(
        body, headers, received_at=time.time(), path=path, url="https://comfort.example.com" + path
    )


def test_occupant_joined_example() -> None:
    """README muc-occupant-joined: a join of occupant `id` in room `catchup`, its stay the
    main room on the occupant's connection since `joined_at`."""
    (event,) = receive(
        "jitsi", at("muc-occupant-joined", README["examples"]["muc-occupant-joined"]), CONFIG
    ).events
    assert (event.kind, event.meeting_key, event.participant_ref) == (
        PlatformEventKind.PARTICIPANT_JOINED,
        "catchup",
        "00380324-a840-400d-880f-7ee0933b7556",
    )
    assert event.stay is not None
    assert (event.stay.room, event.stay.began_at) == ("", 1625823996)
    assert (
        event.stay.connection == "14f01c40-5195-4a4d-8efb-f58b49d18741@meet.mydomain.com/OWhl8jSh"
    )


def test_occupant_left_example_ends_the_same_stay() -> None:
    (joined,) = receive(
        "jitsi", at("muc-occupant-joined", README["examples"]["muc-occupant-joined"]), CONFIG
    ).events
    (left,) = receive(
        "jitsi", at("muc-occupant-left", README["examples"]["muc-occupant-left"]), CONFIG
    ).events
    assert left.kind is PlatformEventKind.PARTICIPANT_LEFT
    assert left.stay == joined.stay


def test_room_examples() -> None:
    """muc-room-destroyed of the main room ends the meeting; muc-room-created changes nothing."""
    (ended,) = receive(
        "jitsi", at("muc-room-destroyed", README["examples"]["muc-room-destroyed"]), CONFIG
    ).events
    assert (ended.kind, ended.meeting_key) == (PlatformEventKind.SESSION_ENDED, "catchup")
    assert (
        receive(
            "jitsi", at("muc-room-created", README["examples"]["muc-room-created"]), CONFIG
        ).events
        == ()
    )


def test_breakout_room_events_built_from_the_readmes_field_list() -> None:
    """Built from the README's field list ("For breakout room events, is_breakout will be true
    and breakout_room_id will hold the identifier of the breakout room. The room_name ... will
    still reference the main room"): the occupant's join to a breakout room is a join to the
    main room's meeting, in the breakout room's stay; the breakout room's end ends nothing."""
    body = json.loads(README["examples"]["muc-occupant-joined"])
    body.update(is_breakout=True, breakout_room_id="b3a7c1e0")
    body["occupant"]["joined_at"] = 1625824100
    (event,) = receive("jitsi", at("muc-occupant-joined", json.dumps(body)), CONFIG).events
    assert (event.meeting_key, event.participant_ref) == (
        "catchup",
        "00380324-a840-400d-880f-7ee0933b7556",
    )
    assert event.stay is not None and event.stay.room == "b3a7c1e0"
    destroyed = json.loads(README["examples"]["muc-room-destroyed"])
    destroyed.update(is_breakout=True, breakout_room_id="b3a7c1e0")
    assert receive("jitsi", at("muc-room-destroyed", json.dumps(destroyed)), CONFIG).events == ()


def test_include_user_info_copies_the_user_context() -> None:
    """Built from mod_event_sync_component.lua's `on_occupant_joined` with include_user_info:
    every key of the JWT's `context.user` is copied into the occupant; a numeric `id`."""
    body = json.loads(README["examples"]["muc-occupant-joined"])
    body["occupant"].update(
        id=8675309, avatar="https://example.com/a.png", moderator="true", affiliation="member"
    )
    (event,) = receive("jitsi", at("muc-occupant-joined", json.dumps(body)), CONFIG).events
    assert event.participant_ref == "8675309"


@pytest.mark.parametrize(
    "authorization", ["TOKEN-237958623045", "Bearer TOKEN-2379586230", "Basic TOKEN-237958623045"]
)
def test_api_headers_must_carry_the_bearer_token(authorization: str) -> None:
    headers = {**HEADERS, "Authorization": authorization}
    with pytest.raises(InvalidSignature):
        receive(
            "jitsi",
            at("muc-occupant-joined", README["examples"]["muc-occupant-joined"], headers),
            CONFIG,
        )
