"""Privacy under any interleaving (contract §3 "who sees what", §4.2): a group session with three
clients and a therapist, driven by hypothesis through random sequences of signals, retractions,
acknowledgements, check-ins and answers, suggestions and reconnects. No client ever receives
another client's event or presence, or a cue; every client ends up with exactly the events
visible to it; the therapist receives every event, in order, once.

The visibility rule here is written from the contract, independently of the service's code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.fuzz.harness import FuzzService, Room, start_fuzz_service, stop_fuzz_service
from tests.fuzz.profiles import DEEP, FUZZ
from tests.support import Peer

pytestmark = pytest.mark.fuzz

CLIENTS = ["c-1", "c-2", "c-3"]
SIGNALS = ["pause", "resume", "keep_going", "slow_down", "zone", "grounding_started"]
SIGNAL_DATA = {"zone": {"zone": "too_much"}, "grounding_started": {"exercise": "box_breathing"}}


def visible_to(event: dict[str, Any], client: str) -> bool:
    if event["type"] == "cue":
        return False
    if event["actor"]["id"] == client:
        return True
    if event["actor"]["role"] == "client":
        return False
    if event["type"] in ("participant_joined", "participant_left"):
        who = event["data"]["participant"]
        return bool(who["id"] == client or who["role"] == "therapist")
    return event["to"] is None or client in event["to"]


SERVICE: dict[str, FuzzService] = {}
STATS = {"runs": 0, "steps": 0, "events_checked": 0}


@pytest.fixture(scope="module", autouse=True)
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    svc = start_fuzz_service(Path(tmp_path_factory.mktemp("fuzz-privacy")))
    SERVICE["svc"] = svc
    yield svc
    print(f"\nprivacy: {STATS}")
    stop_fuzz_service(svc)


class GroupSession(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.svc = SERVICE["svc"]
        self.room: Room = self.svc.call(self.svc.open_room(clients=3))
        self.peers: dict[str, Peer] = dict(zip(CLIENTS, self.room.clients, strict=True))
        self.received: dict[str, dict[int, dict[str, Any]]] = {c: {} for c in CLIENTS}
        self.own_signals: dict[str, list[int]] = {c: [] for c in CLIENTS}
        STATS["runs"] += 1

    def _collect(self, client: str) -> None:
        for event in self.peers[client].events:
            self.received[client].setdefault(event["seq"], event)

    def _send(self, peer: Peer, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        STATS["steps"] += 1
        ack = self.svc.call(peer.send(kind, data))
        assert ack["ok"] or ack["error"]["code"] in {"forbidden", "not_found", "invalid_payload"}, (
            ack
        )
        return ack

    @rule(client=st.sampled_from(CLIENTS), kind=st.sampled_from(SIGNALS))
    def signal(self, client: str, kind: str) -> None:
        ack = self._send(self.peers[client], kind, SIGNAL_DATA.get(kind, {}))
        if ack["ok"]:
            self.own_signals[client].append(ack["seq"])

    @precondition(lambda self: any(self.own_signals.values()))
    @rule(data=st.data())
    def acknowledge(self, data: st.DataObject) -> None:
        seqs = [s for signals in self.own_signals.values() for s in signals]
        self._send(self.room.therapist, "acknowledge", {"seq": data.draw(st.sampled_from(seqs))})

    @precondition(lambda self: any(self.own_signals.values()))
    @rule(client=st.sampled_from(CLIENTS), data=st.data())
    def retract(self, client: str, data: st.DataObject) -> None:
        # Any signal, the client's own or not: someone else's must be refused.
        seqs = [s for signals in self.own_signals.values() for s in signals]
        self._send(self.peers[client], "retract", {"seq": data.draw(st.sampled_from(seqs))})

    @rule(
        instrument=st.sampled_from(["suds", "zone"]),
        to=st.none() | st.lists(st.sampled_from(CLIENTS), min_size=1, max_size=3, unique=True),
    )
    def checkin(self, instrument: str, to: list[str] | None) -> None:
        data: dict[str, Any] = {"instrument": instrument}
        if to:
            data["to"] = to
        self._send(self.room.therapist, "checkin_request", data)

    @rule(client=st.sampled_from(CLIENTS), value=st.integers(0, 10))
    def answer(self, client: str, value: int) -> None:
        self._collect(client)
        asks = [e for e in self.received[client].values() if e["type"] == "checkin_request"]
        if not asks:
            return
        ask = asks[-1]
        answer: Any = value if ask["data"]["instrument"] == "suds" else "okay"
        self._send(
            self.peers[client], "checkin_response", {"checkin_seq": ask["seq"], "value": answer}
        )

    @rule(to=st.lists(st.sampled_from(CLIENTS), min_size=1, max_size=2, unique=True))
    def suggest(self, to: list[str]) -> None:
        self._send(self.room.therapist, "suggest_grounding", {"exercise": "five_senses", "to": to})

    @rule(client=st.sampled_from(CLIENTS), from_zero=st.booleans())
    def reconnect(self, client: str, from_zero: bool) -> None:
        self._collect(client)
        old = self.peers[client]
        self.svc.call(old.close())
        last = 0 if from_zero or not self.received[client] else max(self.received[client])
        self.peers[client] = self.svc.call(self.svc.join(old.token, last_seq=last))
        STATS["steps"] += 1

    @invariant()
    def no_client_sees_what_is_not_theirs(self) -> None:
        for client in CLIENTS:
            for event in self.peers[client].events:
                assert visible_to(event, client), (client, event)
                STATS["events_checked"] += 1

    def teardown(self) -> None:
        svc, therapist = self.svc, self.room.therapist
        # Presence from the last reconnects may still be landing: settle on a stable head.
        log = svc.call(svc.api.events(self.room.id))
        for _ in range(20):
            time.sleep(0.1)
            again = svc.call(svc.api.events(self.room.id))
            if len(again) == len(log):
                break
            log = again
        head = log[-1]["seq"]
        svc.call(therapist.wait_for(lambda: head in therapist.seqs, timeout=10))
        assert therapist.seqs[: len(log)] == [e["seq"] for e in log], "therapist: not all, in order"
        for client in CLIENTS:
            expected = {e["seq"] for e in log if visible_to(e, client)}
            peer = self.peers[client]
            svc.call(
                peer.wait_for(
                    lambda c=client, p=peer, x=expected: x <= ({*self.received[c]} | set(p.seqs)),
                    timeout=10,
                )
            )
            self._collect(client)
            got = {seq for seq in self.received[client] if seq <= head}
            assert got == expected, (client, sorted(expected - got), sorted(got - expected))
            assert peer.seqs == sorted(set(peer.seqs)), "out of order on one connection"
        for peer in [therapist, *self.peers.values()]:
            svc.call(peer.close())


# A run is a whole session of up to 40 steps: the deep profile runs a twentieth as many runs.
GroupSession.TestCase.settings = settings(
    FUZZ,
    max_examples=FUZZ.max_examples // 20 if DEEP else FUZZ.max_examples,
    stateful_step_count=40 if DEEP else 15,
)
test_privacy_under_random_interleavings = GroupSession.TestCase
