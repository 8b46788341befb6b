"""The decoding boundary of Socket.IO packets (service/realtime/boundary.py `CheckedPacket`,
contract §9.5): a packet that cannot be decoded is answered `invalid_payload` when its ack id can
be read, and otherwise closes its connection; a connect whose `auth` cannot be decoded is refused
`invalid_token`; nothing goes unanswered and nothing reaches a traceback.

Frames are sent raw (tests/fuzz/rawsocket.py), as a browser would write them: its
`JSON.stringify` writes a lone surrogate as the escape `\\ud83d`. The packet format is Socket.IO
v5's "Packet encoding" (github.com/socketio/socket.io-protocol, README):
`<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, inside an Engine.IO MESSAGE (`4`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from service.realtime.boundary import CheckedPacket, RefusedPacket
from tests.conftest import LiveServer
from tests.fuzz.rawsocket import RawSocket
from tests.support import Api, Peer, ServiceProcess

SURROGATE = "\\ud83d"  # as JSON text: the six characters a browser sends
NESTED = "[" * 2000 + "]" * 2000

# Socket.IO packets (without the Engine.IO `4`) and what the boundary makes of them:
# ("ok", data) passes as it came; ("answer", code) is answered with that code; "close" closes.
DECODED: dict[str, tuple[str, Any]] = {
    '2["send",{"id":"a"}]': ("ok", ["send", {"id": "a"}]),
    '27["send",{"id":"a\\u00e9"}]': ("ok", ["send", {"id": "aé"}]),
    '2/,7["send"]': ("ok", ["send"]),
    # Namespaces never joined (only "/" is served) and "-" after an EVENT's ack id (an attachment
    # count only follows BINARY types): found by tests/fuzz, unanswered before.
    '2/admin,7["send"]': ("answer", "invalid_payload"),
    '2/admin,["send",{}]': ("close", None),
    '27-["send",{}]': ("answer", "invalid_payload"),
    '27["send",{"id":"' + SURROGATE + '"}]': ("answer", "invalid_payload"),
    '27["send",{"id":"x","data":{"zone":"' + SURROGATE + '"}}]': ("answer", "invalid_payload"),
    '27["send",{"' + SURROGATE + '":1}]': ("answer", "invalid_payload"),
    '27["send",{"id":"\\u0000","a":"\\uffff"}]': ("ok", ["send", {"id": "\x00", "a": "\uffff"}]),
    '27["send",{"id":"\\ud83f\\udffe"}]': ("ok", ["send", {"id": "\U0001fffe"}]),
    "27" + NESTED: ("answer", "invalid_payload"),
    '27["send",{"id":"t","type":"pau': ("answer", "invalid_payload"),
    "27{}": ("answer", "invalid_payload"),
    "27[]": ("answer", "invalid_payload"),
    '27["disconnect"]': ("answer", "unknown_type"),
    '27["connect",{}]': ("answer", "unknown_type"),
    "27[1]": ("answer", "unknown_type"),
    '57-["send",{"_placeholder":true,"num":0}]': ("close", None),  # 7 attachments, no id
    '51-7["send",{"_placeholder":true,"num":0}]': ("answer", "invalid_payload"),
    '2["send",{"id":"' + SURROGATE + '"}]': ("close", None),
    "2" + NESTED: ("close", None),
    '21234567890123456["send"]': ("close", None),
    '4{"message":"x"}': ("close", None),
    "x": ("close", None),
    "²7[]": ("close", None),
    "9": ("close", None),
}


@pytest.mark.parametrize("text", sorted(DECODED), ids=lambda t: repr(t[:24]))
def test_the_boundary_decodes_or_refuses_every_packet_without_raising(text: str) -> None:
    outcome, detail = DECODED[text]
    packet = CheckedPacket(encoded_packet=text)
    if outcome == "ok":
        assert packet.data == detail
        return
    assert packet.packet_type == socketio.packet.EVENT
    (refused,) = packet.data
    assert isinstance(refused, RefusedPacket)
    if outcome == "answer":
        assert refused.answerable and packet.id == 7 and refused.error.code == detail
    else:
        assert not refused.answerable and packet.id is None


def test_a_connect_whose_auth_cannot_be_decoded_carries_the_refusal_as_its_auth() -> None:
    """Refused `invalid_token` from outside:
    tests/edges/test_hostile_input.py::test_a_connect_whose_auth_holds_a_lone_surrogate_is_refused_invalid_token."""
    for text in ('0{"token":"' + SURROGATE + '"}', "0{", "0" + NESTED, '0{"t":' + SURROGATE):
        packet = CheckedPacket(encoded_packet=text)
        assert packet.packet_type == socketio.packet.CONNECT
        assert isinstance(packet.data, RefusedPacket), text
    assert CheckedPacket(encoded_packet='0{"token":"t"}').data == {"token": "t"}


def test_a_lone_binary_attachment_is_ignored() -> None:
    packet = CheckedPacket(encoded_packet=b"\x00\x01attachment")
    assert packet.packet_type == socketio.packet.ACK and packet.id is None


async def _raw(server: LiveServer, token: str) -> tuple[aiohttp.ClientSession, RawSocket]:
    http = aiohttp.ClientSession()
    return http, await RawSocket.open(http, server.url, token)


ANSWERED = {k: v[1] for k, v in DECODED.items() if v[0] == "answer"}


@pytest.mark.parametrize("text", sorted(ANSWERED), ids=lambda t: repr(t[:24]))
async def test_an_undecodable_send_with_an_ack_id_is_answered_and_the_connection_stays(
    live_server: LiveServer, text: str
) -> None:
    created, therapist, _ = await live_server.start_session()
    http, raw = await _raw(live_server, created["tokens"]["c-1"])
    try:
        await raw.ws.send_str("4" + text)
        answer = await raw.ack(7, timeout=5)
        assert answer["ok"] is False and answer["error"]["code"] == ANSWERED[text], answer
        assert isinstance(answer["error"]["message"], str)
        assert await raw.alive(), "the connection stays up"
    finally:
        await raw.close()
        await http.close()


CLOSED = sorted(k for k, v in DECODED.items() if v[0] == "close")


@pytest.mark.parametrize("text", CLOSED, ids=lambda t: repr(t[:24]))
async def test_an_undecodable_packet_without_an_ack_id_closes_its_connection(
    live_server: LiveServer, transport_patches: bool, text: str
) -> None:
    created, therapist, (client,) = await live_server.start_session()
    http, raw = await _raw(live_server, created["tokens"]["c-1"])
    try:
        await raw.ws.send_str("4" + text)
        while (await raw.next_text(timeout=5)) != "1":
            pass  # its welcome and events, then the Engine.IO close packet
        if transport_patches:  # the service closes the websocket itself (`_poll`)
            with pytest.raises(ConnectionResetError):
                await raw.next_text(timeout=5)
        # Only that connection: the same participant's other one still sends.
        assert (await client.send("keep_going"))["ok"]
    finally:
        await raw.close()
        await http.close()


async def test_an_event_named_disconnect_is_not_a_disconnection(live_server: LiveServer) -> None:
    """Before the boundary, `["disconnect"]` from a client ran the service's own disconnect
    handler: the participant was logged as gone while its socket stayed open."""
    created, therapist, _ = await live_server.start_session(clients=2)
    http, raw = await _raw(live_server, created["tokens"]["c-2"])  # c-2's only connection
    try:
        await therapist.wait_type("participant_joined", 3)
        await raw.ws.send_str('427["disconnect"]')
        answer = await raw.ack(7)
        assert answer["error"]["code"] == "unknown_type"
        assert (await raw.send(8, {"id": "still-here", "type": "pause"}))["ok"]
        await therapist.wait_type("pause")
        assert therapist.of_type("participant_left") == [], "nobody left"
    finally:
        await raw.close()
        await http.close()


@pytest.mark.slow
async def test_hostile_packets_leave_no_traceback_in_the_service_s_log(tmp_path: Path) -> None:
    """`comfort serve`'s own output, every frame of the table above sent: JSON lines only."""
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            created = await Api(service.url, http=http).create()
            keeper = await Peer(service.url, created["tokens"]["t-1"]).connect()
            for text in DECODED:
                raw = await RawSocket.open(http, service.url, created["tokens"]["c-1"])
                await raw.ws.send_str("4" + text)
                await asyncio.sleep(0.05)
                await raw.close()
            raw = await RawSocket.open(http, service.url, None)
            await raw.ws.send_str('40{"token":"' + SURROGATE + '"}')
            await raw.next_text()
            await raw.close()
            await keeper.close()
    finally:
        service.terminate()
    lines = service.logs().splitlines()
    assert lines and all(line.startswith("{") for line in lines), [
        line for line in lines if not line.startswith("{")
    ][:5]
    assert "Traceback" not in service.logs()
    assert "socket_packet_refused" in service.logs()
