"""Acceptance from outside: the official JavaScript socket.io-client against the contract."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tests" / "js" / "contract_client.cjs"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_official_js_client_round_trip(live_server: LiveServer):
    if not (ROOT / "widgets" / "node_modules" / "socket.io-client").exists():
        pytest.fail("widgets/node_modules is missing: run `make install`")
    created = await live_server.create_session(clients=2)
    # c-2 joins and pauses first: c-1's positions and the session's seqs differ (contract §9.1).
    other = await live_server.join(created["tokens"]["c-2"])
    assert (await other.send("pause"))["ok"]
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        live_server.url,
        created["tokens"]["t-1"],
        created["tokens"]["c-1"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["welcome"]["therapist"]["participant"] == {"id": "t-1", "role": "therapist"}
    assert report["welcome"]["client"]["state"]["clients"].keys() == {"c-1"}
    pause = report["acks"]["pause"]
    assert pause["ok"] is True and pause["duplicate"] is False
    assert report["acks"]["again"] == {"ok": True, "seq": pause["seq"], "duplicate": True}
    assert (
        report["acks"]["bad"]["ok"] is False
        and report["acks"]["bad"]["error"]["code"] == "invalid_payload"
    )
    assert report["acks"]["acknowledge"]["ok"] is True
    (seen,) = [e for e in report["therapistEvents"] if e["id"] == "js-press-1"]
    (mine,) = [e for e in report["clientEvents"] if e["id"] == "js-press-1"]
    assert mine["seq"] == pause["seq"] != seen["seq"], "the client's own position; the session's"
    client_seqs = [e["seq"] for e in report["clientEvents"]]
    assert client_seqs == list(range(1, len(client_seqs) + 1))
    (acknowledged,) = [e for e in report["clientEvents"] if e["type"] == "acknowledge"]
    assert acknowledged["to"] == ["c-1"] and acknowledged["data"] == {"seq": pause["seq"]}
    seqs = [e["seq"] for e in report["therapistEvents"]]
    assert seqs == sorted(set(seqs))
    forged = report["errors"]["forged"]
    assert forged["data"]["code"] == "invalid_token" and forged["message"]
    assert report["errors"]["none"]["data"]["code"] == "invalid_token"
