"""Contract §9.5 and guarantee 5 as a property: every `send` frame that carries an ack id gets an
answer within 5 s (ok, or one of the contract's codes), whatever it holds: all of Unicode (lone
surrogates as JSON escapes, NUL, non-characters), JSON nested thousands deep, truncated JSON, raw
escapes spliced in anywhere. The connection stays up throughout, and the service stays healthy.
Sent raw over one websocket (tests/fuzz/rawsocket.py), as a browser would write them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import (
    SEND_CODES,
    FuzzService,
    start_fuzz_service,
    stop_fuzz_service,
)
from tests.fuzz.profiles import FUZZ
from tests.fuzz.rawsocket import RawSocket
from tests.fuzz.strategies import raw_send_frames

pytestmark = pytest.mark.fuzz

ANSWER_S = 5.0
STATS = {"frames": 0, "ok": 0, "refused": 0}


class Line:
    """One client's raw websocket, kept across cases; its ack ids never repeat."""

    def __init__(self, svc: FuzzService) -> None:
        self.svc = svc
        self.ids = itertools.count(1)
        created = svc.call(svc.api.create(1))
        self.raw: RawSocket = svc.call(RawSocket.open(svc.http, svc.url, created["tokens"]["c-1"]))


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:
    svc = start_fuzz_service(Path(tmp_path_factory.mktemp("fuzz-answered")))
    line = Line(svc)
    yield line
    print(f"\nevery send answered: {STATS}")
    svc.call(line.raw.close())
    stop_fuzz_service(svc)


@FUZZ
@given(data=st.data())
def test_every_send_frame_with_an_ack_id_is_answered_within_5_s(
    line: Line, data: st.DataObject
) -> None:
    ack_id = next(line.ids)
    frame = data.draw(raw_send_frames(ack_id))
    svc = line.svc
    svc.call(line.raw.ws.send_str(frame))
    answer: Any = svc.call(line.raw.ack(ack_id, timeout=ANSWER_S), timeout=ANSWER_S + 5)
    STATS["frames"] += 1
    assert isinstance(answer, dict), answer
    if answer.get("ok") is True:
        STATS["ok"] += 1
        assert isinstance(answer["seq"], int) and isinstance(answer["duplicate"], bool)
    else:
        STATS["refused"] += 1
        assert answer.get("ok") is False and answer["error"]["code"] in SEND_CODES, answer
        assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
    assert not line.raw.ws.closed, "a bad send never closes the connection"
    assert svc.call(svc.healthy())
