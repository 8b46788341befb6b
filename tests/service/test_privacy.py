"""Guarantee 6 (contract §4): no names, tokens, keys or secrets in logs; erase means erased."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from structlog.testing import capture_logs

from tests.conftest import LiveServer
from tests.support import API_KEY, SECRET, Api, Peer, ServiceProcess


async def test_a_whole_session_logs_no_name_token_key_or_secret(live_server: LiveServer):
    with capture_logs() as logs:
        created = await live_server.create_session(clients=2)
        sid = created["session"]["id"]
        therapist = await live_server.join(created["tokens"]["t-1"])
        client = await live_server.join(created["tokens"]["c-1"])
        await client.send("pause")
        await therapist.send("checkin_request", {"instrument": "suds"})
        await live_server.api.call(
            "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": "c-2"}
        )
        await client.send("", raw={"id": "bad", "type": "zone", "data": {"zone": "Clara Client1"}})
        await live_server.api.call("POST", f"/api/v1/sessions/{sid}/end")
        await asyncio.sleep(0.3)
    text = repr(logs)
    assert logs, "the flow logs something"
    forbidden = ["Dr Tessa Example", "Clara Client1", "Clara Client2", API_KEY, SECRET]
    forbidden += list(created["tokens"].values())
    for secret in forbidden:
        assert secret not in text
    kinds = {entry["event"] for entry in logs}
    assert {"session_created", "socket_connected", "event_stored", "token_minted"} <= kinds


async def test_the_service_process_logs_nothing_private(tmp_path: Path):
    # debug: the per-event line (`event_stored`) is logged at debug level
    service = await ServiceProcess(tmp_path, env={"COMFORT_LOG_LEVEL": "debug"}).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            peer = await Peer(service.url, created["tokens"]["c-1"]).connect()
            await peer.send("pause")
            await peer.send("", raw={"id": "x", "type": "nope"})
            await peer.close()
            await api.call("GET", "/api/v1/sessions/whatever", key="wrong-key-but-secret-looking")
    finally:
        service.terminate()
    logs = service.logs()
    assert "event_stored" in logs
    for secret in [
        "Dr Tessa Example",
        "Clara Client1",
        API_KEY,
        SECRET,
        "wrong-key-but-secret-looking",
        *created["tokens"].values(),
    ]:
        assert secret not in logs


@pytest.mark.parametrize("ended", [False, True])
async def test_erasing_a_session_leaves_nothing_readable_in_the_database_files(
    live_server: LiveServer, tmp_path: Path, ended: bool
):
    created = await live_server.create_session(
        external_id="meeting-to-forget-4242",
        participants=[
            {"id": "t-1", "role": "therapist", "display_name": "Therapist Zebediah"},
            {"id": "c-1", "role": "client", "display_name": "Client Philomena"},
        ],
    )
    keep = await live_server.create_session()
    sid = created["session"]["id"]
    client = await live_server.join(created["tokens"]["c-1"])
    await client.send("pause", id="private-press-id-31337")
    await client.send("zone", {"zone": "shut_down"}, id="private-zone-id-27182")
    if ended:
        await live_server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    status, _ = await live_server.api.call("DELETE", f"/api/v1/sessions/{sid}")
    assert status == 204
    files = [p for p in tmp_path.iterdir() if p.name.startswith("comfort.db")]
    assert files
    blob = b"".join(p.read_bytes() for p in files)
    for needle in (
        sid,
        "meeting-to-forget-4242",
        "private-press-id-31337",
        "private-zone-id-27182",
        "Therapist Zebediah",
        "Client Philomena",
    ):
        assert needle.encode() not in blob, needle
    # The other session is untouched.
    status, body = await live_server.api.call("GET", f"/api/v1/sessions/{keep['session']['id']}")
    assert (
        status == 200 and body["session"]["participants"][0]["display_name"] == "Dr Tessa Example"
    )
