"""A played session for the summary's tests: two clients, each signal kind, retractions, a pause
never resumed; and what was sent (in the session's numbering), to compare each view with."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.conftest import LiveServer
from tests.service.pacing_helpers import cues_of, live_pair
from tests.support import Peer

NO_TIMED_CUES = {"pause_unacknowledged": {"enabled": False}, "repeated_pause": {"enabled": False}}


@dataclass
class Played:
    sid: str
    therapist: Peer
    clients: list[Peer]
    suds: list[tuple[int, int]] = field(default_factory=list)  # (seq, value) of c-1
    zones: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, zone, source) of c-1
    pauses: list[int] = field(default_factory=list)  # the seqs that opened c-1's pauses
    grounding_seq: int = 0
    other_pause: int = 0  # c-2's pause
    other_zone: int = 0  # c-2's zone signal


async def ask(therapist: Peer, client: Peer, instrument: str, **data: Any) -> int:
    """A check-in to `client`; returns the request's seq as the client numbers it (§9.1)."""
    asked = len(client.of_type("checkin_request"))
    sent = await therapist.send("checkin_request", {"instrument": instrument, **data})
    assert sent["ok"], sent
    await client.wait_for(lambda: len(client.of_type("checkin_request")) > asked)
    return int(client.of_type("checkin_request")[-1]["seq"])


async def sent_seq(
    played: Played | tuple[Peer, Peer], client: Peer, kind: str, data: Any = None
) -> int:
    """Send as `client`; returns the event's session seq, as the therapist sees it."""
    therapist = played.therapist if isinstance(played, Played) else played[0]
    event_id = uuid.uuid4().hex
    ack = await client.send(kind, data, id=event_id)
    assert ack["ok"], ack
    await therapist.wait_for(lambda: any(e["id"] == event_id for e in therapist.events))
    return int(next(e["seq"] for e in therapist.events if e["id"] == event_id))


async def play(server: LiveServer, *, end: bool = True, **body: Any) -> Played:
    """A short session with known signals from c-1 and c-2, ended unless `end` is False."""
    sid, therapist, clients = await live_pair(server, NO_TIMED_CUES, clients=2, **body)
    one, two = clients
    played = Played(sid, therapist, clients)
    for value in (2, 5, 8):
        req = await ask(therapist, one, "suds", to=["c-1"])
        seq = await sent_seq(played, one, "checkin_response", {"checkin_seq": req, "value": value})
        played.suds.append((seq, value))
    seq = await sent_seq(played, one, "zone", {"zone": "too_much"})
    played.zones.append((seq, "too_much", "signal"))
    oops = await one.send("zone", {"zone": "shut_down"})
    assert (await one.send("retract", {"seq": oops["seq"]}))["ok"]
    req = await ask(therapist, one, "zone", to=["c-1"])
    seq = await sent_seq(played, one, "checkin_response", {"checkin_seq": req, "value": "okay"})
    played.zones.append((seq, "okay", "answer"))
    played.pauses.append(await sent_seq(played, one, "pause"))
    played.other_pause = await sent_seq(played, two, "pause")
    await asyncio.sleep(0.4)
    await sent_seq(played, one, "resume")
    await sent_seq(played, two, "resume")
    played.other_zone = await sent_seq(played, two, "zone", {"zone": "shut_down"})
    mistake = await one.send("pause")
    assert (await one.send("retract", {"seq": mistake["seq"]}))["ok"]
    await one.send("grounding_started", {"exercise": "box_breathing"})
    played.grounding_seq = await sent_seq(
        played,
        one,
        "grounding_finished",
        {"exercise": "box_breathing", "completed": True, "duration_s": 64.5},
    )
    played.pauses.append(await sent_seq(played, one, "pause"))  # never resumed
    await asyncio.sleep(0.3)
    await therapist.wait_for(lambda: len(cues_of(therapist)) >= 2)
    if end:
        status, _ = await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
        assert status == 200
    return played


async def summary_as(
    server: LiveServer, sid: str, fmt: str, content_type: str
) -> tuple[bytes, Mapping[str, str]]:
    """The summary in `fmt`, read with the tenant's API key; checks it is 200 `content_type`."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{server.url}/api/v1/sessions/{sid}/summary?format={fmt}",
            headers={"Authorization": f"Bearer {server.api_key}"},
        ) as resp,
    ):
        assert resp.status == 200
        assert resp.content_type == content_type
        return await resp.read(), resp.headers
