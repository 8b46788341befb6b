"""Data retention (`service/retention.py`): `comfort purge --older-than DAYS` erases the ended
and never-live sessions older than the retention period, as a vendor's DELETE erases them, and
keeps recent and live sessions; a dry run erases nothing. `--audit-archive PATH` archives the
audit entries past COMFORT_AUDIT_RETENTION_DAYS, then deletes them; without it (or the explicit
`--audit-without-archive`) the trail is left whole."""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from service import retention
from service.events import Actor, Role
from service.retention import (
    ArchiveError,
    expired_sessions,
    purge_audit,
    purge_sessions,
    retention_cutoff,
)
from service.store import store_for_url
from service.store.base import (
    AppendRequest,
    AuditEntry,
    AuditQuery,
    ParticipantRecord,
    SessionRecord,
    SessionStateName,
    rfc3339,
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


# -- the audit trail: archived, then deleted (COMFORT_AUDIT_RETENTION_DAYS) -------------------


def run_comfort_purge(
    database_url: str, *argv: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`comfort purge` as an operator runs it, against `database_url`."""
    return subprocess.run(
        [sys.executable, "-m", "service", "purge", *argv],
        cwd=ROOT,
        env={
            **os.environ,
            "COMFORT_DATABASE_URL": database_url,
            "COMFORT_SECRET_KEY": SECRET,
            "COMFORT_LOG_FORMAT": "json",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def audit_entry(at: datetime, action: str = "token.mint") -> AuditEntry:
    return AuditEntry(
        at=rfc3339(at),
        actor="tenant:acme",
        action=action,
        outcome="ok",
        tenant_id="acme",
        session_id=f"ses_{secrets.token_hex(4)}",
        detail={"participant_id": "pid_0123456789abcdef01234567"},
    )


async def seeded(database_url: str, *entries: AuditEntry) -> None:
    store = store_for_url(database_url)
    await store.open()
    try:
        await store.append_audit(list(entries))
    finally:
        await store.close()


async def trail(database_url: str) -> list[AuditEntry]:
    store = store_for_url(database_url)
    await store.open()
    try:
        return await store.read_audit(AuditQuery(limit=100_000))
    finally:
        await store.close()


SIX_YEARS_AND_MORE = timedelta(days=2190 + 30)


async def test_comfort_purge_archives_the_expired_audit_entries_then_deletes_exactly_those(
    database_url: str, tmp_path: Path
) -> None:
    """Entries older than the default six years (2190 days) go to a new JSON-lines file in the
    folder given, mode 0600, as `comfort audit` prints them; once it is on disk they are deleted
    and the purge itself is on record with the file's SHA-256. A second run finds nothing."""
    now = datetime.now(UTC)
    old = [audit_entry(now - SIX_YEARS_AND_MORE - timedelta(days=n)) for n in (3, 2, 1)]
    recent = [audit_entry(now - timedelta(days=2190 - 1)), audit_entry(now - timedelta(days=1))]
    await seeded(database_url, old[0], recent[0], old[1], old[2], recent[1])
    folder = tmp_path / "archives"
    folder.mkdir()

    done = run_comfort_purge(database_url, "--audit-archive", str(folder))

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # session ids only, and none was asked for
    (archive,) = folder.iterdir()
    assert archive.name.startswith("comfort-audit-before-") and archive.suffix == ".jsonl"
    assert archive.stat().st_mode & 0o777 == 0o600
    lines = [orjson.loads(line) for line in archive.read_bytes().splitlines()]
    assert lines == [e.as_json() for e in old]
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert f"deleted 3 audit entries older than 2190 days archived to {archive}" in done.stderr
    assert sha256 in done.stderr
    kept = await trail(database_url)
    assert kept[:2] == recent
    (purge,) = kept[2:]
    assert (purge.actor, purge.action, purge.outcome) == ("operator", "audit.purge", "ok")
    assert purge.detail["deleted"] == 3 and purge.detail["archived"] == 3
    assert purge.detail["archive_sha256"] == sha256

    again = run_comfort_purge(database_url, "--audit-archive", str(folder))
    assert again.returncode == 0, again.stderr
    assert "deleted 0 audit entries" in again.stderr
    assert list(folder.iterdir()) == [archive]
    assert await trail(database_url) == kept


async def test_comfort_purge_deletes_no_audit_entry_without_an_archive_unless_told_to(
    database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    old = [audit_entry(now - SIX_YEARS_AND_MORE) for _ in range(3)]
    await seeded(database_url, *old)
    existing = tmp_path / "earlier.jsonl"
    existing.write_text("an earlier archive\n")

    sessions_only = run_comfort_purge(database_url, "--older-than", "30")
    assert sessions_only.returncode == 0, sessions_only.stderr
    assert "kept 3 audit entries older than 2190 days" in sessions_only.stderr
    assert "--audit-archive" in sessions_only.stderr
    refusals = {
        "nothing to do": run_comfort_purge(database_url),
        "an archive is never overwritten": run_comfort_purge(
            database_url, "--audit-archive", str(existing)
        ),
        "no such folder": run_comfort_purge(
            database_url, "--audit-archive", str(tmp_path / "missing" / "a.jsonl")
        ),
        "both": run_comfort_purge(
            database_url, "--audit-archive", str(tmp_path), "--audit-without-archive"
        ),
    }
    for case, result in refusals.items():
        assert result.returncode == 2, (case, result.stderr)
    assert (
        "never overwritten; no audit entry was deleted"
        in refusals["an archive is never overwritten"].stderr
    )
    assert existing.read_text() == "an earlier archive\n"
    dry = run_comfort_purge(database_url, "--audit-archive", str(tmp_path), "--dry-run")
    assert dry.returncode == 0 and "would delete 3 audit entries" in dry.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".jsonl") == ["earlier.jsonl"]
    assert await trail(database_url) == old

    told = run_comfort_purge(database_url, "--audit-without-archive")
    assert told.returncode == 0, told.stderr
    assert "deleted 3 audit entries older than 2190 days without an archive" in told.stderr
    (purge,) = await trail(database_url)
    assert purge.action == "audit.purge"
    assert purge.detail["archived"] == 0 and purge.detail["archive_sha256"] is None


async def test_comfort_audit_retention_days_decides_what_has_expired(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/comfort.db"
    now = datetime.now(UTC)
    older, newer = audit_entry(now - timedelta(days=40)), audit_entry(now - timedelta(days=20))
    await seeded(url, older, newer)
    archive = tmp_path / "audit.jsonl"
    done = run_comfort_purge(
        url, "--audit-archive", str(archive), COMFORT_AUDIT_RETENTION_DAYS="30"
    )
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(line) for line in archive.read_bytes().splitlines()] == [older.as_json()]
    assert (await trail(url))[0] == newer


async def test_the_archive_is_on_disk_before_any_entry_is_deleted(
    store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order `purge_audit` keeps: the archive written, fsynced, in place under its name
    and its folder fsynced; only then the delete, of the entries it holds."""
    old = [audit_entry(NOW - timedelta(days=400 + n)) for n in range(3)]
    await store.append_audit(old)
    archive = tmp_path / "archive.jsonl"
    steps: list[str] = []
    real_fsync, real_delete = os.fsync, store.delete_expired_audit

    def fsync(fd: int) -> None:
        steps.append("fsync dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync file")
        real_fsync(fd)

    async def delete(before: str, through_id: int) -> int:
        steps.append("delete")
        assert not archive.with_name("archive.jsonl.partial").exists()
        assert len(archive.read_bytes().splitlines()) == 3
        return await real_delete(before, through_id)

    monkeypatch.setattr(retention.os, "fsync", fsync)
    monkeypatch.setattr(store, "delete_expired_audit", delete)
    done = await purge_audit(store, timedelta(days=365), archive, now=NOW)

    # (the store may fsync its own files after the delete)
    assert steps[:3] == ["fsync file", "fsync dir", "delete"]
    assert (done.archived, done.deleted, done.archive) == (3, 3, archive)


async def test_an_archive_that_cannot_be_written_deletes_nothing(
    store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.append_audit([audit_entry(NOW - timedelta(days=400)) for _ in range(3)])

    def disk_full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(retention, "_write_all", disk_full)
    with pytest.raises(ArchiveError, match="No space left"):
        await purge_audit(store, timedelta(days=365), tmp_path / "a.jsonl", now=NOW)
    assert list(tmp_path.glob("a.jsonl*")) == []
    assert len(await store.read_audit(AuditQuery())) == 3
