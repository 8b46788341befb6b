"""The audit trail (HIPAA audit controls): who did what, kept apart from session logs,
append-only, and free of clinical content, names, tokens and addresses; participants named by
pseudonyms; refusals of unknown callers counted, not written one by one (issue 13)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import orjson
import pytest
import socketio

from service.app import AUDIT, STORE
from service.pseudonyms import Pseudonyms
from service.store import store_for_url
from service.store.base import AuditEntry, AuditQuery
from tests.conftest import LiveServer
from tests.support import SECRET, Api, Peer, ServiceProcess

PSEUDONYMS = Pseudonyms(SECRET)


async def _entries(server: LiveServer, **query):
    await server.app[AUDIT].flush(close_window=True)
    return await server.app[STORE].read_audit(AuditQuery(**{"limit": 100_000, **query}))


def participant(session_id: str, participant_id: str) -> str:
    return "participant:" + PSEUDONYMS.pseudonym(session_id, participant_id)


async def test_rest_calls_token_mints_connections_and_erasures_are_audited(
    live_server: LiveServer, tmp_path: Path
):
    created = await live_server.create_session()
    sid = created["session"]["id"]
    await live_server.api.call("POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": "c-1"})
    await live_server.api.call("GET", f"/api/v1/sessions/{sid}", key=live_server.other_key)
    peer = await live_server.join(created["tokens"]["c-1"])
    await peer.send("pause")
    await peer.close()
    await asyncio.sleep(0.2)
    await live_server.api.call("DELETE", f"/api/v1/sessions/{sid}")
    entries = await _entries(live_server, session_id=sid)
    actions = [(e.actor, e.action, e.outcome) for e in entries]
    assert ("tenant:demo", "rest.POST /api/v1/sessions/{session_id}/tokens", "200") in actions
    assert ("tenant:other", "rest.GET /api/v1/sessions/{session_id}", "404") in actions
    assert ("tenant:demo", "token.mint", "ok") in actions
    assert (participant(sid, "c-1"), "socket.connect", "ok") in actions
    assert (participant(sid, "c-1"), "socket.disconnect", "ok") in actions
    assert ("tenant:demo", "session.erase", "ok") in actions
    connect = next(e for e in entries if e.action == "socket.connect")
    assert connect.address_hash and "127.0.0.1" not in connect.address_hash
    # Kept apart from the session log: the erasure itself is on record.
    assert any(e.action == "rest.DELETE /api/v1/sessions/{session_id}" for e in entries)
    text = repr(await _entries(live_server))
    for secret in (
        "Dr Tessa Example",
        "Clara Client1",
        SECRET,
        *created["tokens"].values(),
        "pause",
    ):
        assert secret not in text
    minted = next(e for e in entries if e.action == "token.mint" and e.detail.get("participant_id"))
    assert minted.detail["participant_id"] == participant(sid, "c-1").partition(":")[2]
    refused = await _entries(live_server, action_prefix="socket.")
    assert all(
        e.outcome in ("ok", "invalid_token", "session_ended", "session_not_found") for e in refused
    )


async def test_the_trail_is_append_only(live_server: LiveServer, tmp_path: Path):
    await live_server.create_session()
    await live_server.app[AUDIT].flush()
    db = sqlite3.connect(tmp_path / "comfort.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_log SET outcome = 'forged'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_log")
    finally:
        db.close()


async def test_comfort_audit_prints_json_lines(live_server: LiveServer, tmp_path: Path):
    created = await live_server.create_session()
    await live_server.app[AUDIT].flush()
    env = {
        **os.environ,
        "COMFORT_DATABASE_URL": f"sqlite:///{tmp_path}/comfort.db",
        "COMFORT_SECRET_KEY": SECRET,
    }
    out = (
        subprocess.run(
            [sys.executable, "-m", "service", "audit", "--tenant", "demo", "--action", "rest."],
            env=env,
            capture_output=True,
            check=True,
            timeout=30,
        )
        .stdout.decode()
        .splitlines()
    )
    lines = [orjson.loads(line) for line in out]
    assert lines and all(
        line["tenant_id"] == "demo" and line["action"].startswith("rest.") for line in lines
    )
    assert any(line["action"] == "rest.POST /api/v1/sessions" for line in lines)
    assert created["session"]["id"]


# -- callers that did not prove who they are: counted, not written one by one ------------------


def small(entry: AuditEntry) -> bool:
    return len(orjson.dumps(entry.as_json())) < 512


async def test_300_keyless_requests_with_8_kb_paths_add_a_few_small_counted_rows(
    any_store: LiveServer,
) -> None:
    """Issue 13, finding 4: 300 keyless GETs once wrote 7.5 MB. Now they are counted per
    minute, route template, status and error code: at most one row for each in each minute
    they span, every row small, and the counts add up to 300."""
    before = len(await _entries(any_store))
    async with aiohttp.ClientSession() as http:
        for n in range(300):
            url = f"{any_store.url}/api/v1/sessions/{'A' * 8000}{n}"
            headers = {"Authorization": "Bearer " + "K" * 200} if n % 2 else {}
            async with http.get(url, headers=headers) as resp:
                assert resp.status in (401, 429)
    added = (await _entries(any_store))[before:]

    route = "rest.GET /api/v1/sessions/{session_id}"
    keys = {(e.actor, e.action, e.outcome, e.detail["reason"]) for e in added}
    assert keys == {
        ("anonymous", route, "401", "unauthorized"),
        ("anonymous", route, "429", "rate_limited"),
    }
    assert len(added) <= 2 * len(keys)  # the requests may straddle a minute
    assert sum(e.detail["count"] for e in added) == 300
    assert all(small(e) and e.session_id is None and e.address_hash for e in added)
    assert "AAAA" not in repr(added) and "KKKK" not in repr(added)
    assert sum(e.detail["count"] for e in added if e.outcome == "401") == 10  # then throttled


async def test_refused_socket_connects_are_counted_not_written_one_by_one(
    any_store: LiveServer,
) -> None:
    before = len(await _entries(any_store))
    for n in range(20):
        peer = any_store.peer("x" * 4000 if n % 2 else "not-a-token")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(wait=False)
    added = (await _entries(any_store))[before:]
    assert {(e.actor, e.action, e.outcome) for e in added} == {
        ("anonymous", "socket.connect", "invalid_token")
    }
    assert len(added) <= 2 and sum(e.detail["count"] for e in added) == 20
    assert all(small(e) for e in added)


async def test_a_known_caller_gets_its_own_row_but_not_an_8_kb_session_id(
    live_server: LiveServer,
) -> None:
    status, _ = await live_server.api.call("GET", f"/api/v1/sessions/{'B' * 8000}")
    assert status == 404
    (entry,) = [e for e in await _entries(live_server) if e.actor == "tenant:demo"]
    assert entry.outcome == "404" and entry.session_id is None and small(entry)


async def test_unknown_tenants_webhooks_are_counted_with_no_path_kept(
    live_server: LiveServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        for tenant in ("C" * 8000, "demo", "demo"):  # demo has no platform configured
            async with http.post(f"{live_server.url}/webhooks/{tenant}/zoom", data=b"{}") as resp:
                assert resp.status == 404
    entries = await _entries(live_server, action_prefix="rest.POST /webhooks")
    counted = {(e.actor, e.outcome, e.tenant_id): e.detail["count"] for e in entries}
    assert counted == {("anonymous", "404", None): 1, ("anonymous", "404", "demo"): 2}
    assert all(small(e) for e in entries)


# -- erasure: no participant id readable in the trail or the logs ------------------------------

THERAPIST = "tessa.therapist@clinic.example"
CLIENT = "clara.client+sessions@example.org"


@pytest.mark.slow
async def test_an_erased_session_leaves_no_participant_id_in_the_audit_trail_or_the_logs(
    tmp_path: Path, database_url: str
) -> None:
    """Participants whose ids are e-mail addresses: connected, minted a token for, read the
    summary, sent a pause, then the session is erased. Neither the audit rows (both stores)
    nor the real process's own log output holds either address, or their local parts; both
    name each participant by the same pseudonym, which `comfort pseudonym` prints."""
    env = {"COMFORT_DATABASE_URL": database_url, "COMFORT_LOG_LEVEL": "debug"}
    service = await ServiceProcess(tmp_path / "svc", env=env).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create(
                participants=[
                    {"id": THERAPIST, "role": "therapist", "display_name": "Dr Tessa Example"},
                    {"id": CLIENT, "role": "client", "display_name": "Clara Client"},
                ]
            )
            sid, tokens = created["session"]["id"], created["tokens"]
            status, minted = await api.call(
                "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": CLIENT}
            )
            assert status == 200
            therapist = await Peer(service.url, tokens[THERAPIST]).connect()
            client = await Peer(service.url, minted["token"]).connect()
            assert (await client.send("pause"))["ok"] is True
            summary = f"{service.url}/api/v1/sessions/{sid}/summary"
            bearer = {"Authorization": f"Bearer {tokens[THERAPIST]}"}
            async with http.get(summary, headers=bearer) as resp:
                assert resp.status == 200
            await client.close()
            await therapist.close()
            assert (await api.call("DELETE", f"/api/v1/sessions/{sid}"))[0] == 204
    finally:
        service.terminate()  # the trail's last entries are written on the way out

    store = store_for_url(database_url)
    await store.open()
    try:
        trail = repr(await store.read_audit(AuditQuery(limit=100_000)))
    finally:
        await store.close()
    logs = service.logs()
    for raw in (THERAPIST, CLIENT, "tessa.therapist", "clara.client"):
        assert raw not in trail
        assert raw not in logs
    if database_url.startswith("sqlite"):
        files = b"".join(p.read_bytes() for p in (tmp_path).glob("comfort.db*"))
        assert files and CLIENT.encode() not in files and THERAPIST.encode() not in files

    printed = subprocess.run(
        [sys.executable, "-m", "service", "pseudonym", sid, CLIENT],
        env={**os.environ, **service.env},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert printed == PSEUDONYMS.pseudonym(sid, CLIENT)
    assert f"participant:{printed}" in trail  # socket.connect, socket.disconnect
    assert f"'participant_id': '{printed}'" in trail  # token.mint
    assert participant(sid, THERAPIST) in trail  # summary.read by the therapist's token
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    connected = [line for line in lines if line["event"] == "socket_connected"]
    assert {line["participant_id"] for line in connected} == {
        printed,
        PSEUDONYMS.pseudonym(sid, THERAPIST),
    }
    stored = [line for line in lines if line["event"] == "event_stored"]
    assert printed in {line["actor"] for line in stored}
