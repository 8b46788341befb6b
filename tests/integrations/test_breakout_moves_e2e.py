"""Breakout rooms end to end: a paused client moving between rooms is no leave and no urgent cue.

The real service with pacing; signed JaaS and event_sync deliveries over HTTP in both orders,
while the client is paused, so a move wrongly logged as a leave fires `disconnected_in_distress`.
Each test then shows a real leave is still logged and still fires the cue.
JaaS payload shapes: 8x8's webhooks-payload page (breakout events keep the main room's `fqn`,
`isBreakout`, `breakoutRoomId`; `disconnectReason: "switch_room"` for a move). event_sync's:
its README's "Events from breakout rooms" (`room_name` is the main room's, `is_breakout`,
`breakout_room_id`), the move being a leave from one room and a join to the other.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from platform_signers import Delivery, JaasSigner, JitsiSigner, PlatformSigner
from test_webhooks_e2e import post

import integrations.moves
from service.tenants import Tenant, TenantRegistry, hash_key
from tests.conftest import API_KEY
from tests.service.pacing_helpers import cues_of, live_pair, quiet_for

pytest_plugins = ["tests.service.pacing_fixtures"]

HOLD_S = 0.4
# grace_s 0 (contract §9.3 waits 20 s by default): a leave fires the cue at once, so a move
# wrongly logged as a leave and a join would still raise it, as in v1.
CUES = {"pause_unacknowledged": {"enabled": False}, "disconnected_in_distress": {"grace_s": 0}}


@pytest.fixture
async def server(pacing_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(integrations.moves, "MOVE_HOLD_S", HOLD_S)
    jaas, jitsi = JaasSigner(), JitsiSigner()
    tenants = TenantRegistry(
        [
            Tenant(
                id="demo",
                api_key_sha256=hash_key(API_KEY),
                integrations={"jaas": dict(jaas.config), "jitsi": dict(jitsi.config)},
            )
        ]
    )
    live = await pacing_factory(tenants)
    async with aiohttp.ClientSession() as http:
        yield live, {"jaas": jaas, "jitsi": jitsi}, http


def jaas_delivery(signer: JaasSigner, action: str, room: str, **data: Any) -> Delivery:
    body = json.loads(signer.delivery(action, room, "c-ref").body)  # type: ignore[arg-type]
    body["data"].update(data)
    raw = json.dumps(body).encode()
    return Delivery("jaas", "jaas", "", signer.sign("jaas", "", raw, url=""), raw)


def jitsi_delivery(
    signer: JitsiSigner, action: str, room: str, breakout: str | None, joined_at: int
) -> Delivery:
    body = json.loads(signer.delivery(action, room, "c-ref").body)  # type: ignore[arg-type]
    body.update(is_breakout=breakout is not None)
    if breakout is not None:
        body["breakout_room_id"] = breakout
    body["occupant"]["joined_at"] = joined_at
    raw = json.dumps(body).encode()
    path = f"jitsi/events/occupant/{'joined' if action == 'join' else 'left'}"
    return Delivery("jitsi", path, "", signer.sign("", "", raw, url=""), raw)


def moves(
    platform: str, signer: PlatformSigner, room: str
) -> tuple[Delivery, list[Delivery], Delivery]:
    """(join the main room, the move into a breakout room and back, a real leave)."""
    if isinstance(signer, JaasSigner):
        breakout = {"isBreakout": True, "breakoutRoomId": "e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd"}
        return (
            jaas_delivery(signer, "join", room),
            [
                jaas_delivery(signer, "leave", room, disconnectReason="switch_room"),
                jaas_delivery(signer, "join", room, **breakout),
                jaas_delivery(signer, "leave", room, disconnectReason="switch_room", **breakout),
                jaas_delivery(signer, "join", room),
            ],
            jaas_delivery(signer, "leave", room, disconnectReason="left"),
        )
    assert isinstance(signer, JitsiSigner)
    return (
        jitsi_delivery(signer, "join", room, None, 1000),
        [
            jitsi_delivery(signer, "leave", room, None, 1000),
            jitsi_delivery(signer, "join", room, "b-1", 1060),
            jitsi_delivery(signer, "leave", room, "b-1", 1060),
            jitsi_delivery(signer, "join", room, None, 1120),
        ],
        jitsi_delivery(signer, "leave", room, None, 1120),
    )


def platform_presence(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["type"]
        for e in events
        if e["type"] in ("participant_joined", "participant_left")
        and e["data"]["via"] == "platform"
    ]


@pytest.mark.parametrize("platform", ["jaas", "jitsi"])
@pytest.mark.parametrize("order", ["in order", "reversed"])
async def test_a_paused_client_moving_rooms_is_no_leave_and_no_urgent_cue(
    server: Any, platform: str, order: str
) -> None:
    live, signers, http = server
    signer = signers[platform]
    room = f"therapyroom-{platform}"
    body = {
        "platform": platform,
        "external_id": room,
        "participants": [
            {"id": "t-1", "role": "therapist", "platform_ref": "t-ref"},
            {"id": "c-1", "role": "client", "platform_ref": "c-ref"},
        ],
    }
    sid, therapist, (client,) = await live_pair(live, CUES, **body)
    join, move, leave = moves(platform, signer, room)
    assert (await post(http, live.url, join, tenant="demo"))[0] == 200
    await client.send("pause")
    deliveries = move if order == "in order" else list(reversed(move))

    async def send(i: int, delivery: Delivery) -> int:
        await asyncio.sleep(0.05 * i)  # concurrent requests, as a platform's would be
        return (await post(http, live.url, delivery, tenant="demo"))[0]

    statuses = await asyncio.gather(*(send(i, d) for i, d in enumerate(deliveries)))
    assert statuses == [200] * len(deliveries)
    await quiet_for(HOLD_S + 0.6)
    assert platform_presence(await live.api.events(sid)) == ["participant_joined"]
    assert cues_of(therapist, "disconnected_in_distress") == []

    # A real leave, still paused: logged after the hold, and the urgent cue fires.
    assert (await post(http, live.url, leave, tenant="demo"))[0] == 200
    await therapist.wait_for(lambda: len(cues_of(therapist, "disconnected_in_distress")) == 1)
    assert platform_presence(await live.api.events(sid)) == [
        "participant_joined",
        "participant_left",
    ]
