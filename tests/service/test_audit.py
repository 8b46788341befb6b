"""The audit trail (HIPAA audit controls): who did what, kept apart from session logs,
append-only, and free of clinical content, names, tokens and addresses."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from service.app import AUDIT, STORE
from service.store.base import AuditQuery
from tests.conftest import LiveServer
from tests.support import SECRET


async def _entries(server: LiveServer, **query):
    await server.app[AUDIT].flush()
    return await server.app[STORE].read_audit(AuditQuery(**query))


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
    assert ("participant:c-1", "socket.connect", "ok") in actions
    assert ("participant:c-1", "socket.disconnect", "ok") in actions
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
