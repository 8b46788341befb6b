"""Contract §9.5 ("Nothing ever goes unanswered") and guarantee 5 as properties over raw frames,
sent over a real websocket as a browser would write them (tests/fuzz/rawsocket.py):

- every `send` frame whose ack id can be read gets its ack within 5 s (ok, or one of the
  contract's codes with a message), whatever it holds: all of Unicode (lone surrogates written
  as JSON escapes, NUL, C1, non-characters), hostile leaves, nesting thousands deep, truncated
  JSON, raw escapes spliced in anywhere, another namespace, leading zeros; its connection stays;
- a frame that cannot be decoded and has no ack id to read closes its connection; one that
  decodes but has no ack id leaves it open and answering;
- a CONNECT is answered within 5 s: admitted (its welcome follows) when `auth` decodes to an
  object holding a valid token, whatever else it holds; otherwise `connect_error`
  `invalid_token`, undecodable `auth` included;
- after every case a normal client (a real `socketio.AsyncClient`) still gets its send acked
  and `/healthz` answers.

What each frame should get is decided from the frame alone (tests/fuzz/oracle.py).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.figures import report
from tests.fuzz.harness import SEND_CODES, FuzzService, start_fuzz_service, stop_fuzz_service
from tests.fuzz.oracle import expect_connect, expect_frame
from tests.fuzz.profiles import FUZZ
from tests.fuzz.rawsocket import RawSocket
from tests.fuzz.strategies import RAW_BYTES, connect_auths, socket_frames
from tests.support import Peer

pytestmark = pytest.mark.fuzz

#: Issue 13: "every send gets an answer within 5 s".
ANSWER_S = 5.0
STATS: Counter[str] = Counter()


class Line:
    """c-1's raw websocket (opened again when a case closed it), and c-2 beside it on a real
    Socket.IO client: the normal client whose sends must still be answered."""

    def __init__(self, svc: FuzzService) -> None:
        self.svc = svc
        self.ids = itertools.count(1)
        created = svc.call(svc.api.create(2))
        self.token: str = created["tokens"]["c-1"]
        self.raw = self.open()
        self.normal: Peer = svc.call(svc.join(created["tokens"]["c-2"]))

    def open(self) -> RawSocket:
        return self.svc.call(RawSocket.open(self.svc.http, self.svc.url, self.token))

    def reopen(self) -> None:
        self.svc.call(self.raw.close())
        self.raw = self.open()

    def ready(self) -> RawSocket:
        """The raw line, opened again if an earlier (failing, shrinking) case left it closed."""
        if self.raw.ws.closed:
            self.reopen()
        self.raw.texts.clear()
        return self.raw

    def assert_service_answers(self) -> None:
        ack = self.svc.call(self.normal.send("keep_going"), timeout=ANSWER_S + 5)
        assert ack["ok"] is True, ("a normal client's send after a hostile frame", ack)
        assert self.svc.call(self.svc.healthy())


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:
    # Every connect case holds one more connection of c-1 until it is closed: no cap here.
    svc = start_fuzz_service(
        Path(tmp_path_factory.mktemp("fuzz-answered")), max_sockets_per_participant=100_000
    )
    line = Line(svc)
    yield line
    report(f"every send answered: {dict(sorted(STATS.items()))}")
    svc.call(line.raw.close())
    stop_fuzz_service(svc)


def check_ack(answer: Any) -> None:
    assert isinstance(answer, dict), answer
    if answer.get("ok") is True:
        assert isinstance(answer["seq"], int) and isinstance(answer["duplicate"], bool), answer
        return
    assert answer.get("ok") is False and answer["error"]["code"] in SEND_CODES, answer
    assert isinstance(answer["error"]["message"], str) and answer["error"]["message"], answer


async def answered_or_closed(raw: RawSocket, ack_id: int) -> Literal["ack", "closed", "silent"]:
    """Send a valid `send`: its ack, the connection's close, or nothing within 5 s."""
    ack = re.compile(rf"43(?:/[^,]*,)?{ack_id}\[")
    try:
        await raw.ws.send_str(f"42{ack_id}" + json.dumps(["send", {"id": f"probe-{ack_id}"}]))
        while True:
            text = await raw.next_text(ANSWER_S)
            if ack.match(text):
                return "ack"
            if text == "1":
                return "closed"
    except (ConnectionResetError, ConnectionError):
        return "closed"
    except TimeoutError:
        return "silent"


@FUZZ
@given(data=st.data())
def test_every_send_frame_is_answered_within_5_s_or_closes_its_connection(
    line: Line, data: st.DataObject
) -> None:
    frame = data.draw(socket_frames(next(line.ids)), label="frame")
    expected = expect_frame(frame)
    svc, raw = line.svc, line.ready()
    svc.call(raw.ws.send_str(frame))
    STATS[f"frames {expected.outcome}"] += 1
    if expected.outcome == "ack":
        assert expected.ack_id is not None
        try:
            answer = svc.call(raw.ack(expected.ack_id, timeout=ANSWER_S), timeout=ANSWER_S + 5)
        except (TimeoutError, ConnectionResetError) as exc:
            raise AssertionError(f"no ack for ack id {expected.ack_id} ({exc!r})") from None
        check_ack(answer)
        STATS["acks ok" if answer["ok"] else f"acks {answer['error']['code']}"] += 1
        assert svc.call(answered_or_closed(raw, next(line.ids))) == "ack", "its connection stays"
    elif expected.outcome == "close":
        assert svc.call(raw.closed(ANSWER_S), timeout=ANSWER_S + 5), "left open, unanswered"
        line.reopen()
    elif expected.outcome == "open":
        outcome = svc.call(answered_or_closed(raw, next(line.ids)), timeout=ANSWER_S + 5)
        assert outcome == "ack", f"a decodable frame without an ack id: the connection {outcome}"
    else:
        outcome = svc.call(answered_or_closed(raw, next(line.ids)), timeout=ANSWER_S + 5)
        assert outcome != "silent", "neither answering nor closed"
        if outcome == "closed":
            line.reopen()
    line.assert_service_answers()


@FUZZ
@given(raw=RAW_BYTES)
def test_a_binary_frame_of_any_bytes_is_ignored_and_its_connection_answers(
    line: Line, raw: bytes
) -> None:
    """This protocol has no binary packets; a binary frame is an attachment with no packet
    before it, ignored (docs/protocol.md), and the connection still answers its next send."""
    svc, socket = line.svc, line.ready()
    svc.call(socket.ws.send_bytes(raw))
    outcome = svc.call(answered_or_closed(socket, next(line.ids)), timeout=ANSWER_S + 5)
    STATS[f"binary frames {outcome}"] += 1
    assert outcome == "ack", outcome
    line.assert_service_answers()


@FUZZ
@given(data=st.data())
def test_every_connect_is_answered_within_5_s(line: Line, data: st.DataObject) -> None:
    auth = data.draw(connect_auths(line.token), label="auth")
    expected = expect_connect(auth, line.token)
    svc = line.svc

    async def connect() -> str:
        raw = await RawSocket.open(svc.http, svc.url, None)
        try:
            await raw.ws.send_str("40" + auth)
            first = await raw.next_text(ANSWER_S)
            if first.startswith("40{"):
                while not (await raw.next_text(ANSWER_S)).startswith('42["welcome",'):
                    pass
                return "connected"
            assert first.startswith("44{"), first
            refusal = json.loads(first[2:])
            assert isinstance(refusal.get("message"), str), refusal
            return str(refusal["code"])
        finally:
            await raw.close()

    try:
        outcome = svc.call(connect(), timeout=3 * ANSWER_S)
    except (TimeoutError, ConnectionResetError) as exc:
        raise AssertionError(f"the CONNECT was not answered ({exc!r})") from None
    STATS[f"connects {outcome}"] += 1
    if expected == "either":
        assert outcome in ("connected", "invalid_token"), outcome
    else:
        assert outcome == expected, (expected, outcome)
    line.assert_service_answers()


# A client connected to `/` writes to namespaces it never joined: each frame gets what the same
# frame gets in `/` (contract §9.5): an ack when its ack id can be read, a close when it cannot
# be decoded and has none.
OTHER_NAMESPACES = [
    '42/admin,{id}["send",{{"id":"ns-{id}","type":"keep_going"}}]',
    '42/%ED%A0%BD,{id}["send",{{}}]',
    '42/admin,{id}["send",{{"id":"\\ud83d"}}]',
    '42/admin,""',
    '42/admin,["send",{{"id":"\\ud83d"}}]',
]


@pytest.mark.parametrize("template", OTHER_NAMESPACES)
def test_a_frame_to_a_namespace_never_joined_gets_what_any_frame_gets(
    line: Line, template: str
) -> None:
    frame = template.format(id=next(line.ids))
    expected = expect_frame(frame)
    svc, raw = line.svc, line.ready()
    svc.call(raw.ws.send_str(frame))
    if expected.outcome == "ack":
        assert expected.ack_id is not None
        try:
            answer = svc.call(raw.ack(expected.ack_id, timeout=ANSWER_S), timeout=ANSWER_S + 5)
        except (TimeoutError, ConnectionResetError) as exc:
            raise AssertionError(f"no ack for ack id {expected.ack_id} ({exc!r})") from None
        check_ack(answer)
    else:
        assert expected.outcome == "close", expected
        assert svc.call(raw.closed(ANSWER_S), timeout=ANSWER_S + 5), "left open, unanswered"
        line.reopen()
    line.assert_service_answers()


@pytest.mark.parametrize("frame", ["42{id}-1", '42{id}-["send",{{}}]', "4200{id}-1e400"])
def test_an_ack_id_before_a_minus_sign_is_answered_under_that_id(line: Line, frame: str) -> None:
    """Socket.IO v5's packet encoding has an attachment count (`<n>-`) only in BINARY packets
    (types 5 and 6): in `42<id>-…` the digits are the ack id, and the frame, which cannot be
    decoded as an event, is answered under it (contract §9.5). Found by the property above."""
    ack_id = next(line.ids)
    svc, raw = line.svc, line.ready()
    svc.call(raw.ws.send_str(frame.format(id=ack_id)))
    try:
        answer = svc.call(raw.ack(ack_id, timeout=ANSWER_S), timeout=ANSWER_S + 5)
    except (TimeoutError, ConnectionResetError) as exc:
        raise AssertionError(f"no ack for ack id {ack_id} ({exc!r})") from None
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload", answer
    line.assert_service_answers()
