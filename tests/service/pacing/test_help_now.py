"""`help_now` (contract §9.2): a client signal that fires the urgent cue `help_requested` at once,
which reaches the vendor as `cue.urgent`; acknowledged and retracted as the other signals, and
in `unacknowledged` until then. First the pure fold, then real servers (the vendor's receiver
on both stores)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from service.cues import CueSettings
from tests.conftest import LiveServer
from tests.service.outbox_helpers import Receiver, tenants_with_webhook
from tests.service.pacing.support import STORES, THERAPIST, Folded, client, on_store, receiving
from tests.service.pacing_helpers import cues_of, live_pair, quiet_for
from tests.service.test_outbox import verify
from tests.support import session_seq

pytest_plugins = ["tests.service.pacing_fixtures"]
C1 = client()
MESSAGE = "The client pressed Help now: they may feel unsafe or be in crisis."

# -- the fold ------------------------------------------------------------------------------------


def test_help_now_fires_help_requested_at_once() -> None:
    f = Folded.of()
    help_seq = f.add(10, "help_now", C1)
    (cue,) = f.due(10)  # due at the press itself
    assert (cue.rule, cue.severity, cue.client_id) == ("help_requested", "urgent", "c-1")
    assert cue.related_seq == (help_seq,) and cue.message == MESSAGE
    assert cue.event_id == f"cue:help_requested:{help_seq}"
    again = f.add(11, "help_now", C1)  # each press is its own call for help
    (second,) = f.due(11)
    assert second.related_seq == (again,)


def test_help_requested_ignores_every_rule_switched_off() -> None:
    f = Folded.of({rule: {"enabled": False} for rule in CueSettings.model_fields})
    f.add(10, "help_now", C1)
    assert [c.rule for c in f.due(10)] == ["help_requested"]


def test_a_help_now_withdrawn_before_its_cue_is_decided_fires_nothing() -> None:
    f = Folded.of()
    help_seq = f.add(10, "help_now", C1)
    f.add(10.5, "retract", C1, {"seq": help_seq})
    assert f.due(11) == []


def test_an_acknowledged_help_now_still_fired_its_cue() -> None:
    """Acknowledging says "I saw it"; the cue (and the vendor's webhook) were owed at once."""
    f = Folded.of()
    help_seq = f.add(10, "help_now", C1)
    f.add(10.1, "acknowledge", THERAPIST, {"seq": help_seq})
    (cue,) = f.due(10.2)
    assert cue.rule == "help_requested"


def test_a_help_requested_cue_makes_time_remaining_warn() -> None:
    f = Folded.of({"time_remaining": {"before_end_s": 600, "lookback_s": 900}})
    f.add(0, "session_started", THERAPIST)
    f.add(2000, "help_now", C1)
    f.due(2000)
    (remaining,) = f.due(50 * 60 - 600)
    assert remaining.rule == "time_remaining" and remaining.severity == "warn"


# -- real servers ----------------------------------------------------------------------------------


async def test_help_now_is_a_signal_acknowledged_and_retracted_as_the_others(
    pacing_server: LiveServer,
) -> None:
    created = await pacing_server.create_session(clients=2)
    sid = created["session"]["id"]
    therapist = await pacing_server.join(created["tokens"]["t-1"])
    c1 = await pacing_server.join(created["tokens"]["c-1"])
    c2 = await pacing_server.join(created["tokens"]["c-2"])
    await therapist.wait_type("session_started")

    pressed = await c1.send("help_now")
    assert pressed["ok"] and not pressed["duplicate"]
    help_seq = await session_seq(therapist, c1, pressed["seq"])  # c-1 has its own numbering
    (cue,) = await therapist.wait_type("cue")
    assert cue["data"] == {
        "rule": "help_requested",
        "severity": "urgent",
        "client_id": "c-1",
        "related_seq": [help_seq],
        "message": MESSAGE,
    }
    # In `unacknowledged`, for the therapist and for the client itself.
    late_therapist = await pacing_server.join(created["tokens"]["t-1"])
    assert late_therapist.welcome is not None
    state = late_therapist.welcome["state"]["clients"]
    assert state["c-1"]["unacknowledged"] == [help_seq]
    assert state["c-2"]["unacknowledged"] == []
    ack = await therapist.send("acknowledge", {"seq": help_seq})
    assert ack["ok"]
    (seen,) = await c1.wait_type("acknowledge")
    assert seen["data"] == {"seq": pressed["seq"]} and seen["to"] == ["c-1"]
    again = await pacing_server.join(created["tokens"]["c-1"])
    assert again.welcome is not None
    assert again.welcome["state"]["clients"] == {"c-1": again.welcome["state"]["clients"]["c-1"]}
    assert again.welcome["state"]["clients"]["c-1"]["unacknowledged"] == []

    # Retracted within 30 s: out of `unacknowledged`. Another client cannot name it: whatever
    # position it sends is one of its own events (forbidden) or none it has (not_found).
    second = await c1.send("help_now")
    for guess in {second["seq"], *c2.seqs}:
        refused = await c2.send("retract", {"seq": guess})
        assert refused["error"]["code"] in ("forbidden", "not_found"), refused
    assert (await c1.send("retract", {"seq": second["seq"]}))["ok"]
    await therapist.wait_for(lambda: len(therapist.of_type("retract")) == 1)
    fresh = await pacing_server.join(created["tokens"]["t-1"])
    assert fresh.welcome is not None
    assert fresh.welcome["state"]["clients"]["c-1"]["unacknowledged"] == []

    # The other client of a couples session sees none of it.
    await asyncio.sleep(0.3)
    assert c2.of_type("help_now") == [] and c2.of_type("cue") == []
    assert [e for e in c2.events if e["actor"]["id"] == "c-1"] == []
    assert cues_of(c1) == []
    logged = [e["type"] for e in await pacing_server.api.events(sid)]
    assert logged.count("help_now") == 2


async def test_help_now_takes_no_data(pacing_server: LiveServer) -> None:
    _, _, (c1,) = await live_pair(pacing_server)
    refused = await c1.send("help_now", {"where": "home"})
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_payload"
    _, therapist, _ = await live_pair(pacing_server)
    forbidden = await therapist.send("help_now")
    assert forbidden["ok"] is False and forbidden["error"]["code"] == "forbidden"


@pytest.mark.parametrize("store", STORES)
async def test_help_requested_reaches_the_vendor_as_cue_urgent(tmp_path: Path, store: str) -> None:
    receiver = Receiver(fail_first=0)
    async with (
        receiving(receiver) as url,
        on_store(store, tmp_path, tenants_with_webhook(url)) as server,
    ):
        sid, therapist, (c1, _) = await live_pair(server, clients=2)
        pressed = await c1.send("help_now")
        help_seq = await session_seq(therapist, c1, pressed["seq"])  # as the vendor names it
        assert help_seq != pressed["seq"]
        (cue,) = await therapist.wait_type("cue")
        await receiver.wait(lambda: len(receiver.bodies("cue.urgent")) == 1)
        (headers, body, _) = receiver.received[0]
        assert verify(headers["Comfort-Signature"], body)
        delivery = orjson.loads(body)
        assert delivery["type"] == "cue.urgent" and delivery["session_id"] == sid
        assert delivery["data"] == cue
        assert delivery["data"]["data"]["related_seq"] == [help_seq]
        await quiet_for(0.5)
        assert len(receiver.bodies("cue.urgent")) == 1  # once
