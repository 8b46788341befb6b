"""Data retention (`service/retention.py`): `comfort purge --older-than DAYS` erases the ended
and never-live sessions older than the retention period, as a vendor's DELETE erases them, and
keeps recent and live sessions; a dry run erases nothing."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.events import Actor, Role
from service.retention import expired_sessions, purge_sessions, retention_cutoff
from service.store.base import (
    AppendRequest,
    ParticipantRecord,
    SessionRecord,
    SessionStateName,
)
from service.store.sqlite import SQLiteStore
from tests.support import SECRET

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=30)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "comfort.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def make_session(
    store: SQLiteStore,
    age: timedelta,
    state: SessionStateName,
    client_name: str = "Clara Client",
    now: datetime = NOW,
) -> str:
    """A session created `age` before `now`, taken to `state` the way the engine does it, with a
    few client signals in its log."""
    record = SessionRecord(
        id=f"ses_{secrets.token_hex(8)}",
        tenant_id="acme",
        platform="generic",
        external_id=f"room-{secrets.token_hex(4)}",
        state=SessionStateName.OPEN,
        created_at=now - age,
        scheduled_minutes=50,
        participants=(
            ParticipantRecord("t-1", "therapist", "Dr Tessa Example"),
            ParticipantRecord("c-1", "client", client_name),
        ),
        settings={},
        epoch=secrets.token_hex(4),
    )
    await store.create_session(record)
    client, system = Actor("c-1", Role.CLIENT), Actor("system", Role.SYSTEM)
    requests = [
        AppendRequest(record.id, client, "pause", f"press-{record.id}-{n}", {}) for n in range(3)
    ]
    if state is not SessionStateName.OPEN:
        requests.insert(0, AppendRequest(record.id, system, "session_started", "started", {}))
    if state is SessionStateName.ENDED:
        requests.append(
            AppendRequest(record.id, system, "session_ended", "ended", {"by": "therapist"})
        )
    await store.append_batch(requests)
    stored = await store.get_session(record.id)
    assert stored is not None and stored.state is state
    return record.id


def stored_bytes(db: Path) -> bytes:
    return b"".join(
        p.read_bytes()
        for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-journal"))
        if p.exists()
    )


async def test_old_ended_and_abandoned_sessions_are_erased_recent_and_live_ones_kept(
    store: SQLiteStore,
) -> None:
    old_ended = await make_session(store, timedelta(days=45), SessionStateName.ENDED)
    old_open = await make_session(store, timedelta(days=31), SessionStateName.OPEN)
    old_live = await make_session(store, timedelta(days=90), SessionStateName.LIVE)
    recent_ended = await make_session(store, timedelta(days=29), SessionStateName.ENDED)
    recent_open = await make_session(store, timedelta(hours=1), SessionStateName.OPEN)

    erased = await purge_sessions(store, RETENTION, now=NOW)

    assert erased == [old_ended, old_open]  # oldest first
    for session_id in (old_ended, old_open):
        assert await store.get_session(session_id) is None
        assert await store.read_events(session_id, 0, 100) == []
        assert await store.find_duplicate(session_id, "c-1", f"press-{session_id}-0") is None
    for session_id in (old_live, recent_ended, recent_open):
        kept = await store.get_session(session_id)
        assert kept is not None
        assert len(await store.read_events(session_id, 0, 100)) >= 3
    # A second run finds nothing more to do.
    assert await purge_sessions(store, RETENTION, now=NOW) == []


async def test_a_session_exactly_at_the_cutoff_is_kept(store: SQLiteStore) -> None:
    at_cutoff = await make_session(store, RETENTION, SessionStateName.ENDED)
    just_past = await make_session(store, RETENTION + timedelta(seconds=1), SessionStateName.ENDED)
    assert await purge_sessions(store, RETENTION, now=NOW) == [just_past]
    assert await store.get_session(at_cutoff) is not None


async def test_a_purged_session_leaves_nothing_readable_in_the_sqlite_files(
    store: SQLiteStore,
) -> None:
    """Purging erases as erase means (contract §4.6): the client's name and the event ids are
    gone from the database file and its WAL, while a kept session's are still there."""
    gone = await make_session(
        store, timedelta(days=60), SessionStateName.ENDED, client_name="Purged Person Zq"
    )
    await make_session(
        store, timedelta(days=2), SessionStateName.ENDED, client_name="Kept Person Zq"
    )
    before = stored_bytes(store.path)
    assert b"Purged Person Zq" in before and f"press-{gone}".encode() in before

    await purge_sessions(store, RETENTION, now=NOW)

    after = stored_bytes(store.path)
    assert b"Purged Person Zq" not in after
    assert f"press-{gone}".encode() not in after
    assert b"Kept Person Zq" in after


async def test_expired_sessions_lists_without_erasing(store: SQLiteStore) -> None:
    old = await make_session(store, timedelta(days=100), SessionStateName.ENDED)
    listed = await expired_sessions(store, RETENTION, now=NOW)
    assert [r.id for r in listed] == [old]
    assert await store.get_session(old) is not None


def test_the_cutoff_refuses_a_negative_period_and_a_naive_now() -> None:
    assert retention_cutoff(RETENTION, NOW) == NOW - RETENTION
    with pytest.raises(ValueError, match="negative"):
        retention_cutoff(timedelta(days=-1), NOW)
    with pytest.raises(ValueError, match="time zone"):
        retention_cutoff(RETENTION, NOW.replace(tzinfo=None))


# -- the command --------------------------------------------------------------------------------

# `add_purge_command` on a bare parser, as `comfort` registers it.
_PURGE_CLI = (
    "import argparse, sys\n"
    "from service.retention import add_purge_command\n"
    "parser = argparse.ArgumentParser(prog='comfort')\n"
    "add_purge_command(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def run_purge(db: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COMFORT_DATABASE_URL": f"sqlite:///{db}",
        "COMFORT_SECRET_KEY": SECRET,
        "COMFORT_LOG_FORMAT": "json",
    }
    return subprocess.run(
        [sys.executable, "-c", _PURGE_CLI, "purge", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_purge_command_dry_run_erases_nothing_then_the_real_run_erases(
    store: SQLiteStore,
) -> None:
    """`comfort purge --older-than 30 --dry-run` prints the ids it would erase and leaves the
    store as it was; without `--dry-run` those sessions are gone. Ages are against the real
    clock here, since the command has no `now`."""
    now = datetime.now(UTC)
    old = await make_session(store, timedelta(days=40), SessionStateName.ENDED, now=now)
    recent = await make_session(store, timedelta(days=3), SessionStateName.ENDED, now=now)

    dry = run_purge(store.path, "--older-than", "30", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.split() == [old]
    assert "would erase 1 session" in dry.stderr
    assert await store.get_session(old) is not None

    real = run_purge(store.path, "--older-than", "30")
    assert real.returncode == 0, real.stderr
    assert real.stdout.split() == [old]
    assert await store.get_session(old) is None
    assert await store.get_session(recent) is not None


@pytest.mark.parametrize("days", ["0", "-3", "thirty"])
def test_the_purge_command_refuses_a_retention_period_below_one_day(
    tmp_path: Path, days: str
) -> None:
    result = run_purge(tmp_path / "comfort.db", f"--older-than={days}")
    assert result.returncode == 2
    assert "--older-than" in result.stderr
    assert not (tmp_path / "comfort.db").exists()
