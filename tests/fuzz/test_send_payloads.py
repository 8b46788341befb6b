"""Guarantee 5 for `send` (contract §3): every payload shape, from either role, against a real
server: the ack is always structured (`ok` with a seq, or a listed error code with a message),
never `internal`; the connection and the service stay up; every stored event was acked, once,
at the seq its sender reads it by (a client's own position, contract §9.1), and the log stays
gap-free."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.figures import report
from tests.fuzz.harness import (
    SEND_CODES,
    FuzzService,
    Room,
    start_fuzz_service,
    stop_fuzz_service,
)
from tests.fuzz.profiles import FUZZ
from tests.fuzz.strategies import send_payloads
from tests.support import own_stream

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    svc = start_fuzz_service(Path(tmp_path_factory.mktemp("fuzz-send")))
    yield svc
    stop_fuzz_service(svc)


class Rooms:
    """The current room; a new one when a fuzzed `end_session` ended it."""

    def __init__(self, service: FuzzService) -> None:
        self.service = service
        self.room: Room | None = None
        # Per room: (sender, event id, the seq its ack gave).
        self.acked: dict[str, set[tuple[str, str, int]]] = {}
        self.cases = 0

    def current(self) -> Room:
        if self.room is None or not all(p.client.connected for p in self.room.peers):
            self.room = self.service.call(self.service.open_room(clients=2))
            self.acked[self.room.id] = set()
        return self.room


@pytest.fixture(scope="module")
def rooms(service: FuzzService) -> Iterator[Rooms]:
    rooms = Rooms(service)
    yield rooms
    # Afterwards: every room's log is gap-free and holds exactly the acked sends.
    for session_id, acked in rooms.acked.items():
        events = service.call(service.api.events(session_id))
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        sends = [e for e in events if e["actor"]["role"] != "system"]
        assert len({(e["actor"]["id"], e["id"]) for e in sends}) == len(sends), "an id twice"
        stored = set()
        for event in sends:
            sender = event["actor"]["id"]
            if event["actor"]["role"] == "client":  # acked at its own position (§9.1)
                seq = [e["id"] for e in own_stream(events, sender)].index(event["id"]) + 1
            else:
                seq = event["seq"]
            stored.add((sender, event["id"], seq))
        assert stored == acked, "stored without an ack, or acked at another seq"
    report(f"fuzz send: cases={rooms.cases} rooms={len(rooms.acked)}")


def check_ack(ack: Any) -> None:
    assert isinstance(ack, dict), ack
    if ack.get("ok") is True:
        assert isinstance(ack["seq"], int) and ack["seq"] >= 1, ack
        assert isinstance(ack["duplicate"], bool)
        return
    assert ack.get("ok") is False, ack
    error = ack["error"]
    assert error["code"] in SEND_CODES, ack
    assert isinstance(error["message"], str) and error["message"]


@FUZZ
@given(payload=send_payloads(), who=st.integers(0, 2))
def test_every_send_payload_gets_a_structured_ack(
    service: FuzzService, rooms: Rooms, payload: Any, who: int
) -> None:
    room = rooms.current()
    peer = room.peers[who]
    ack = service.call(peer.send("", raw=payload), timeout=20)
    rooms.cases += 1
    check_ack(ack)
    if ack["ok"] and not ack["duplicate"]:
        sender = peer.welcome["participant"]["id"]  # type: ignore[index]
        rooms.acked[room.id].add((sender, payload["id"], ack["seq"]))
    ended = not ack["ok"] and ack["error"]["code"] == "session_ended"
    if not ended and not (
        ack["ok"] and isinstance(payload, dict) and payload.get("type") == "end_session"
    ):
        assert peer.client.connected, "a bad send closed the connection"
    assert service.call(service.healthy())


@FUZZ
@given(payload=send_payloads())
def test_a_resent_id_answers_its_first_seq_whatever_it_carries(
    service: FuzzService, rooms: Rooms, payload: Any
) -> None:
    room = rooms.current()
    client = room.clients[0]
    first = service.call(client.send("keep_going", id="fixed-id-" + room.id))
    assert first["ok"], first
    if not first["duplicate"]:
        rooms.acked[room.id].add(("c-1", "fixed-id-" + room.id, first["seq"]))
    if isinstance(payload, dict):
        payload = {**payload, "id": "fixed-id-" + room.id}
    again = service.call(client.send("", raw=payload))
    rooms.cases += 1
    if isinstance(payload, dict):
        assert again == {"ok": True, "seq": first["seq"], "duplicate": True}, (payload, again)
    else:
        check_ack(again)
