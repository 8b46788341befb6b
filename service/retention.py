"""Data retention: erase the sessions older than the operator's retention period, and delete
the audit entries older than the audit's (`COMFORT_AUDIT_RETENTION_DAYS`), archived first.

`comfort purge --older-than DAYS` runs `purge_sessions` against the configured store. It erases
through `Store.erase_session`, so a purged session goes exactly as a vendor's DELETE makes it go:
its row, its log, its timers, deliveries and duplicate-delivery records, leaving nothing readable
in the store's files. Live sessions are never purged, whatever their age.

`comfort purge --audit-archive PATH` runs `purge_audit`: the audit entries dated before the
audit retention period are written to a new JSON-lines file (one entry a line, as
`comfort audit` prints them), flushed to disk (`fsync`, the file and its directory), and only
then deleted, exactly those written. Without an archive nothing is deleted from the trail,
unless `--audit-without-archive` says the operator keeps the record elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from .store.base import AuditEntry, SessionRecord, SessionStateName, rfc3339, utc_now

log = structlog.get_logger(__name__)

# A session may be purged once it has ended, or if it never went live (it was created and
# abandoned). A live session is someone's therapy in progress, or a process died holding it:
# either way it is not the retention job's to decide.
PURGEABLE_STATES: tuple[str, ...] = (SessionStateName.ENDED.value, SessionStateName.OPEN.value)


class RetentionStore(Protocol):
    """What purging needs of a store; `SQLiteStore` and `PostgresStore` both provide it."""

    async def list_sessions(self, states: tuple[str, ...]) -> list[SessionRecord]: ...

    async def erase_session(self, session_id: str) -> bool: ...

    async def append_audit(self, entries: list[AuditEntry]) -> None: ...

    async def expired_audit(
        self, before: str, after_id: int, limit: int
    ) -> list[tuple[int, AuditEntry]]: ...

    async def count_expired_audit(self, before: str) -> int: ...

    async def delete_expired_audit(self, before: str, through_id: int) -> int: ...


def retention_cutoff(older_than: timedelta, now: datetime | None = None) -> datetime:
    """The moment before which a session counts as old: `now - older_than`, in UTC.

    Raises:
        ValueError: `older_than` is negative, or `now` has no time zone.
    """
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return moment.astimezone(UTC) - older_than


async def expired_sessions(
    store: RetentionStore, older_than: timedelta, now: datetime | None = None
) -> list[SessionRecord]:
    """The ended or never-live sessions created before the cutoff, oldest first."""
    cutoff = retention_cutoff(older_than, now)
    found = [r for r in await store.list_sessions(PURGEABLE_STATES) if r.created_at < cutoff]
    return sorted(found, key=lambda r: (r.created_at, r.id))


async def purge_sessions(
    store: RetentionStore, older_than: timedelta, now: datetime | None = None
) -> list[str]:
    """Erase every ended or never-live session created more than `older_than` before `now`.

    Args:
        store: an open store.
        older_than: the retention period.
        now: the present (aware); the current time when omitted.

    Returns:
        The ids of the sessions erased, oldest first. A session erased meanwhile by someone
        else (a vendor's DELETE) is left out.
    """
    erased: list[str] = []
    for record in await expired_sessions(store, older_than, now):
        if await store.erase_session(record.id):
            erased.append(record.id)
            log.info("session_purged", session_id=record.id, state=record.state.value)
            await _audit_purge(store, record.id, record.tenant_id)
    log.info("purge_finished", erased=len(erased), older_than_days=older_than.days)
    return erased


async def _audit_purge(store: RetentionStore, session_id: str, tenant_id: str) -> None:
    """Record the erasure in the audit trail, which outlives the session (HIPAA audit controls)."""
    entry = AuditEntry(
        at=rfc3339(utc_now()),
        actor="operator",
        action="session.purge",
        outcome="ok",
        tenant_id=tenant_id,
        session_id=session_id,
    )
    await store.append_audit([entry])


# -- the audit trail ---------------------------------------------------------------------------

ARCHIVE_PAGE = 5000  # entries read from the store per page while archiving


class ArchiveError(Exception):
    """The archive could not be written where asked; nothing was deleted."""


@dataclass(frozen=True, slots=True)
class AuditPurge:
    """What `purge_audit` did: the entries dated before `before` it deleted (`deleted`), after
    writing `archived` of them to `archive` (None: deleted without an archive), whose SHA-256 is
    `sha256`."""

    before: str
    archived: int
    deleted: int
    archive: Path | None
    sha256: str | None


def archive_path(path: Path, before: str) -> Path:
    """Where the archive goes: `path` itself, or, when `path` is a folder, a new file in it
    named after the cutoff (`comfort-audit-before-20201203T031700Z.jsonl`, `…-2.jsonl` when
    that exists), so a scheduled purge can name the same folder every time.

    Raises:
        ArchiveError: the folder the file would go in does not exist.
    """
    if path.is_dir():
        stamp = before.replace("-", "").replace(":", "").split(".")[0] + "Z"
        candidate, n = path / f"comfort-audit-before-{stamp}.jsonl", 1
        while candidate.exists() or _partial(candidate).exists():
            n += 1
            candidate = path / f"comfort-audit-before-{stamp}-{n}.jsonl"
        return candidate
    if not path.parent.is_dir():
        raise ArchiveError(f"{path.parent} is not a directory")
    return path


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


async def write_audit_archive(
    store: RetentionStore, before: str, path: Path
) -> tuple[int, int, str]:
    """Write every entry dated before `before` to `path` as JSON lines, page by page, and make it
    durable: written to `<path>.partial` (created, never overwritten, mode 0600), fsynced,
    linked to `path`, and the folder fsynced. Nothing is written when there is no such entry.
    The file system calls run on a worker thread.

    Returns:
        (entries written, the last one's row id, the file's SHA-256 in hex).

    Raises:
        ArchiveError: `path` (or its `.partial`) exists, or the file could not be written;
            whatever this call wrote is removed.
    """
    archive = _ArchiveFile(path)
    written = last_id = 0
    try:
        while page := await store.expired_audit(before, last_id, ARCHIVE_PAGE):
            data = b"".join(orjson.dumps(entry.as_json()) + b"\n" for _, entry in page)
            await asyncio.to_thread(archive.append, data)
            written += len(page)
            last_id = page[-1][0]
        if written:
            await asyncio.to_thread(archive.finish)
    except BaseException:
        await asyncio.to_thread(archive.abandon)
        raise
    return written, last_id, archive.digest.hexdigest()


class _ArchiveFile:
    """One archive being written: `<path>.partial` until `finish` puts it in place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = _partial(path)
        self.digest = hashlib.sha256()
        self._fd: int | None = None
        self._created = False  # the .partial is this one's (another's is never removed)

    def append(self, data: bytes) -> None:
        try:
            if self._fd is None:
                if self.path.exists():
                    raise ArchiveError(f"{self.path} exists; an audit archive is never overwritten")
                self._fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                self._created = True
            _write_all(self._fd, data)
        except OSError as exc:
            raise ArchiveError(f"cannot write the audit archive {self.path}: {exc}") from exc
        self.digest.update(data)

    def finish(self) -> None:
        """fsync the file, link it under its name (which fails rather than replace a file that
        appeared meanwhile), remove the `.partial` name, fsync the folder."""
        assert self._fd is not None
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            os.link(self.partial, self.path)
            os.unlink(self.partial)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            raise ArchiveError(f"cannot write the audit archive {self.path}: {exc}") from exc

    def abandon(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._created:
            self.partial.unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def purge_audit(
    store: RetentionStore,
    retention: timedelta,
    archive: Path | None,
    now: datetime | None = None,
) -> AuditPurge:
    """Delete the audit entries dated more than `retention` before `now`, archived first.

    Args:
        store: an open store.
        retention: the audit retention period (`COMFORT_AUDIT_RETENTION_DAYS`).
        archive: the archive file or folder (`archive_path`); None deletes without one, which
            `comfort purge` allows only with `--audit-without-archive`.
        now: the present (aware); the current time when omitted.

    Raises:
        ArchiveError: the archive could not be written; nothing was deleted.
    """
    before = rfc3339(retention_cutoff(retention, now))
    target = archive_path(archive, before) if archive is not None else None
    sha256: str | None = None
    if target is not None:
        archived, through_id, sha256 = await write_audit_archive(store, before, target)
        if archived == 0:
            target = sha256 = None
    else:
        archived, through_id = 0, 2**62
    deleted = await store.delete_expired_audit(before, through_id) if through_id else 0
    outcome = AuditPurge(before, archived, deleted, target, sha256)
    log.info(
        "audit_purged",
        before=before,
        archived=archived,
        deleted=deleted,
        archive_sha256=sha256,
    )
    if deleted:
        await store.append_audit(
            [
                AuditEntry(
                    at=rfc3339(utc_now()),
                    actor="operator",
                    action="audit.purge",
                    outcome="ok",
                    detail={
                        "before": before,
                        "deleted": deleted,
                        "archived": archived,
                        "archive_sha256": sha256,
                    },
                )
            ]
        )
    return outcome


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {value!r}") from None
    if days < 1:
        raise argparse.ArgumentTypeError("the retention period is at least 1 day")
    return days


def add_purge_command(subparsers: Any) -> None:
    """Register `comfort purge` on the `comfort` parser:
    `[--older-than DAYS] [--audit-archive PATH | --audit-without-archive] [--dry-run]`.

    Args:
        subparsers: what `ArgumentParser.add_subparsers()` returned.
    """
    purge = subparsers.add_parser(
        "purge",
        help="erase old sessions (--older-than) and old audit entries (--audit-archive)",
        description=(
            "Erase every session that has ended, or never went live, and was created more than "
            "DAYS days ago: its log, timers and deliveries go with it. Live sessions are kept. "
            "With --audit-archive, also delete the audit entries older than "
            "COMFORT_AUDIT_RETENTION_DAYS (default 2190, six years), after writing them to a "
            "new JSON-lines file and flushing it to disk. Without it the audit trail is left "
            "whole, unless --audit-without-archive is given. Reads COMFORT_DATABASE_URL; safe "
            "to run while the service runs."
        ),
    )
    purge.add_argument(
        "--older-than",
        type=_days,
        metavar="DAYS",
        help="erase ended or never-live sessions created more than DAYS days ago (at least 1)",
    )
    audit = purge.add_mutually_exclusive_group()
    audit.add_argument(
        "--audit-archive",
        type=Path,
        metavar="PATH",
        help=(
            "archive the audit entries past COMFORT_AUDIT_RETENTION_DAYS to PATH (a new file, "
            "or a new file in PATH when it is a folder), then delete them"
        ),
    )
    audit.add_argument(
        "--audit-without-archive",
        action="store_true",
        help="delete the audit entries past COMFORT_AUDIT_RETENTION_DAYS without an archive",
    )
    purge.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be erased and deleted, and change nothing",
    )
    purge.set_defaults(func=cmd_purge)


def cmd_purge(args: argparse.Namespace) -> int:
    """Run the purge against the configured store; prints one erased session id a line, and
    what it did on standard error. Exit status 2 when the archive cannot be written (nothing
    was deleted from the trail then) or there is nothing to do."""
    from .logconfig import configure_logging
    from .settings import Settings
    from .store import store_for_url

    audit = args.audit_archive is not None or args.audit_without_archive
    if args.older_than is None and not audit:
        print(
            "comfort: purge: give --older-than DAYS, --audit-archive PATH or both",
            file=sys.stderr,
        )
        return 2
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    audit_retention = timedelta(days=settings.audit_retention_days)

    async def run() -> int:
        store = store_for_url(settings.database_url)
        await store.open()
        try:
            if args.older_than is not None:
                await _purge_sessions(store, timedelta(days=args.older_than), args.dry_run)
            before = rfc3339(retention_cutoff(audit_retention))
            expired = await store.count_expired_audit(before)
            days = settings.audit_retention_days
            if not audit or args.dry_run:
                verb = "would delete" if audit else "kept"
                hint = "" if audit else " (give --audit-archive PATH to archive and delete them)"
                if expired or audit:
                    print(
                        f"comfort: {verb} {expired} audit entries older than {days} days{hint}",
                        file=sys.stderr,
                    )
                return 0
            try:
                done = await purge_audit(store, audit_retention, args.audit_archive)
            except ArchiveError as exc:
                print(f"comfort: {exc}; no audit entry was deleted", file=sys.stderr)
                return 2
        finally:
            await store.close()
        where = (
            f" archived to {done.archive} (sha256 {done.sha256})"
            if done.archive is not None
            else " without an archive"
            if done.deleted
            else ""
        )
        print(
            f"comfort: deleted {done.deleted} audit entries older than {days} days{where}",
            file=sys.stderr,
        )
        return 0

    return asyncio.run(run())


async def _purge_sessions(store: RetentionStore, older_than: timedelta, dry_run: bool) -> None:
    if dry_run:
        ids = [r.id for r in await expired_sessions(store, older_than)]
        verb = "would erase"
    else:
        ids = await purge_sessions(store, older_than)
        verb = "erased"
    for session_id in ids:
        print(session_id)
    print(
        f"comfort: {verb} {len(ids)} session(s) older than {older_than.days} days",
        file=sys.stderr,
    )
