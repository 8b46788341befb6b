"""Data retention: erase the sessions older than the operator's retention period.

`comfort purge --older-than DAYS` runs `purge_sessions` against the configured store. It erases
through `Store.erase_session`, so a purged session goes exactly as a vendor's DELETE makes it go:
its row, its log, its timers, deliveries and duplicate-delivery records, leaving nothing readable
in the store's files. Live sessions are never purged, whatever their age.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

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


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {value!r}") from None
    if days < 1:
        raise argparse.ArgumentTypeError("the retention period is at least 1 day")
    return days


def add_purge_command(subparsers: Any) -> None:
    """Register `comfort purge --older-than DAYS [--dry-run]` on the `comfort` parser.

    Args:
        subparsers: what `ArgumentParser.add_subparsers()` returned.
    """
    purge = subparsers.add_parser(
        "purge",
        help="erase ended or never-live sessions created more than DAYS days ago",
        description=(
            "Erase every session that has ended, or never went live, and was created more than "
            "DAYS days ago: its log, timers and deliveries go with it. Live sessions are kept. "
            "Reads COMFORT_DATABASE_URL; safe to run while the service runs."
        ),
    )
    purge.add_argument(
        "--older-than",
        type=_days,
        required=True,
        metavar="DAYS",
        help="the retention period in days (at least 1)",
    )
    purge.add_argument(
        "--dry-run",
        action="store_true",
        help="list the sessions that would be erased and erase nothing",
    )
    purge.set_defaults(func=cmd_purge)


def cmd_purge(args: argparse.Namespace) -> int:
    """Run the purge against the configured store; prints one session id a line."""
    from .logconfig import configure_logging
    from .settings import Settings
    from .store import store_for_url

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    older_than = timedelta(days=args.older_than)

    async def run() -> int:
        store = store_for_url(settings.database_url)
        await store.open()
        try:
            if args.dry_run:
                ids = [r.id for r in await expired_sessions(store, older_than)]
                verb = "would erase"
            else:
                ids = await purge_sessions(store, older_than)
                verb = "erased"
        finally:
            await store.close()
        for session_id in ids:
            print(session_id)
        print(
            f"comfort: {verb} {len(ids)} session(s) older than {args.older_than} days",
            file=sys.stderr,
        )
        return 0

    return asyncio.run(run())
