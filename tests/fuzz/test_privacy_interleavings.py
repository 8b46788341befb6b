"""Privacy under any interleaving (contract §3 "who sees what", §4.2, §9.1): a group session with
three clients and a therapist, driven by hypothesis through random sequences of signals,
retractions, acknowledgements, check-ins and answers, suggestions, resends and reconnects. No client
ever receives another client's event or presence, or a cue; every client ends up with exactly the
events visible to it, each in its own numbering (positions 1, 2, 3… with no gap on any connection,
whatever the others do; acks, resends, the numbers in data and reconnects with a position agree);
the therapist receives every event, in order, once, in the session's seqs.

The visibility rule and the client's numbering are written from the contract
(`tests.support.visible_to`, `expected_view`), independently of the service's code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.fuzz.figures import report
from tests.fuzz.harness import FuzzService, Room, start_fuzz_service, stop_fuzz_service
from tests.fuzz.profiles import DEEP, FUZZ
from tests.support import Peer, assert_seen_as, expected_view, visible_to

pytestmark = pytest.mark.fuzz

CLIENTS = ["c-1", "c-2", "c-3"]
SIGNALS = ["pause", "resume", "keep_going", "slow_down", "zone", "grounding_started"]
SIGNAL_DATA = {"zone": {"zone": "too_much"}, "grounding_started": {"exercise": "box_breathing"}}
NEVER_GIVEN = 10**6  # a position no client of a short session has been given


T = TypeVar("T")


def pick(data: st.DataObject, choices: list[T]) -> T:
    """One of `choices`, drawn the same way whatever their number: what the service answered
    decides the list, and hypothesis needs each draw's shape to be the same on a replay."""
    return choices[data.draw(st.integers(0, 2**16)) % len(choices)]


SERVICE: dict[str, FuzzService] = {}
STATS = {"runs": 0, "steps": 0, "events_checked": 0}


@pytest.fixture(scope="module", autouse=True)
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    svc = start_fuzz_service(Path(tmp_path_factory.mktemp("fuzz-privacy")))
    SERVICE["svc"] = svc
    yield svc
    report(f"privacy: {STATS}")
    stop_fuzz_service(svc)


class GroupSession(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.svc = SERVICE["svc"]
        self.room: Room = self.svc.call(self.svc.open_room(clients=3))
        self.peers: dict[str, Peer] = dict(zip(CLIENTS, self.room.clients, strict=True))
        # What each client was given, by its own position, over all its connections.
        self.received: dict[str, dict[int, dict[str, Any]]] = {c: {} for c in CLIENTS}
        # Where each client's current connection started (the last_seq it connected with).
        self.start: dict[str, int] = {c: 0 for c in CLIENTS}
        # Each client's sends that were stored: id -> (payload, the position its ack gave).
        self.sent: dict[str, dict[str, tuple[dict[str, Any], int]]] = {c: {} for c in CLIENTS}
        self.signal_ids: list[tuple[str, str]] = []  # (client, id) of stored signals
        self.count = 0
        STATS["runs"] += 1

    def _collect(self, client: str) -> None:
        for event in self.peers[client].events:
            first = self.received[client].setdefault(event["seq"], event)
            # A position means one event, on every connection and replay (its id included).
            assert first == event, (client, first, event)

    def _send(self, peer: Peer, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        STATS["steps"] += 1
        self.count += 1
        event_id = f"f-{self.count}"
        payload = {"id": event_id, "type": kind, "data": data}
        ack = self.svc.call(peer.send(kind, data, id=event_id))
        assert ack["ok"] or ack["error"]["code"] in {"forbidden", "not_found", "invalid_payload"}, (
            ack
        )
        if ack["ok"] and peer is not self.room.therapist:
            client = peer.welcome["participant"]["id"] if peer.welcome else ""
            self.sent[client][event_id] = (payload, ack["seq"])
        return ack

    @rule(client=st.sampled_from(CLIENTS), kind=st.sampled_from(SIGNALS))
    def signal(self, client: str, kind: str) -> None:
        ack = self._send(self.peers[client], kind, SIGNAL_DATA.get(kind, {}))
        if ack["ok"]:
            self.signal_ids.append((client, f"f-{self.count}"))

    @precondition(lambda self: bool(self.signal_ids))
    @rule(data=st.data())
    def acknowledge(self, data: st.DataObject) -> None:
        # The therapist names a signal by the session's seq, as it received it.
        _, event_id = pick(data, self.signal_ids)
        therapist = self.room.therapist
        self.svc.call(
            therapist.wait_for(lambda: any(e["id"] == event_id for e in therapist.events))
        )
        seq = next(e["seq"] for e in therapist.events if e["id"] == event_id)
        self._send(therapist, "acknowledge", {"seq": seq})

    @rule(client=st.sampled_from(CLIENTS), data=st.data())
    def retract(self, client: str, data: st.DataObject) -> None:
        """A client names events by its own positions: its own signals may be retracted (within
        30 s), anything else it was given is forbidden, a position never given is not found."""
        self._collect(client)
        own = {pos for (c, i), (_, pos) in self._sent_signals().items() if c == client}
        pool = data.draw(st.sampled_from(["own", "given", "never"]))
        choices = {"own": sorted(own), "given": sorted(self.received[client])}.get(pool)
        position = pick(data, choices) if choices else NEVER_GIVEN
        ack = self._send(self.peers[client], "retract", {"seq": position})
        if position == NEVER_GIVEN:
            assert ack["error"]["code"] == "not_found", ack
        elif position not in own:
            assert not ack["ok"] and ack["error"]["code"] == "forbidden", (position, ack)

    def _sent_signals(self) -> dict[tuple[str, str], tuple[dict[str, Any], int]]:
        return {(c, i): self.sent[c][i] for c, i in self.signal_ids}

    @precondition(lambda self: any(self.sent.values()))
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """A resent id answers the position its first send was answered, whatever it was."""
        client = pick(data, [c for c in CLIENTS if self.sent[c]])
        event_id = pick(data, sorted(self.sent[client]))
        payload, position = self.sent[client][event_id]
        STATS["steps"] += 1
        again = self.svc.call(self.peers[client].send("", raw=payload))
        assert again == {"ok": True, "seq": position, "duplicate": True}, (payload, again)

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
        ask = asks[-1]  # named by the client's own position of it
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
        self.peers[client] = peer = self.svc.call(self.svc.join(old.token, last_seq=last))
        self.start[client] = last
        welcome = peer.welcome
        assert welcome is not None
        assert welcome["head_seq"] == welcome["session"]["head_seq"] >= last, (last, welcome)
        STATS["steps"] += 1

    @invariant()
    def no_client_sees_what_is_not_theirs(self) -> None:
        for client in CLIENTS:
            for event in self.peers[client].events:
                assert visible_to(event, client), (client, event)
                STATS["events_checked"] += 1

    @invariant()
    def each_connection_is_gap_free_in_the_client_s_numbering(self) -> None:
        for client in CLIENTS:
            seqs = self.peers[client].seqs
            first = self.start[client] + 1
            assert seqs == list(range(first, first + len(seqs))), (client, first, seqs)

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
            expected = expected_view(log, client)
            peer = self.peers[client]
            every = set(range(1, len(expected) + 1))
            svc.call(
                peer.wait_for(
                    lambda c=client, p=peer, x=every: x <= {*self.received[c], *p.seqs},
                    timeout=10,
                )
            )
            self._collect(client)
            for position, want in enumerate(expected, 1):
                assert_seen_as(self.received[client][position], want, client)
            assert max(self.received[client]) == len(expected), "nothing beyond its own head"
            for event_id, (_, position) in self.sent[client].items():
                assert expected[position - 1]["id"] == event_id, "an ack gives the event's position"
            STATS["events_checked"] += len(expected)
        for peer in [therapist, *self.peers.values()]:
            svc.call(peer.close())


# A run is a whole session of up to 40 steps: the deep profile runs a twentieth as many runs.
GroupSession.TestCase.settings = settings(
    FUZZ,
    max_examples=FUZZ.max_examples // 20 if DEEP else FUZZ.max_examples,
    stateful_step_count=40 if DEEP else 15,
)
test_privacy_under_random_interleavings = GroupSession.TestCase
