"""The `comfort` command: run the service and the operator's chores.

comfort serve [--host H] [--port P]      run the service
comfort token SESSION PARTICIPANT         print a join token (reads the store)
comfort check-tenants FILE                validate a tenants file
comfort hash-key [KEY]                    print the api_key_sha256 for a tenants file
comfort purge [--older-than DAYS] [--audit-archive PATH | --audit-without-archive]
                                          retention: old sessions, old audit entries
comfort audit [--tenant T] [--session S] …  print the audit trail as JSON lines
comfort pseudonym SESSION PARTICIPANT     how the audit trail and the logs name a participant
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import os
import sys
import threading
from collections.abc import Sequence

import structlog

from . import __version__
from .logconfig import configure_logging
from .pseudonyms import Pseudonyms
from .retention import add_purge_command
from .settings import Settings
from .tenants import TenantRegistry, TenantsFileError, hash_key


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        k: v
        for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
        if v is not None
    }
    return Settings(**overrides)


def configure_logging_for(settings: Settings) -> None:
    """The service's logging, naming participants by the pseudonyms of the audit trail. Logging
    is configured first without them: resolving the secret may generate it, and says so."""
    configure_logging(settings.log_format, settings.log_level)
    pseudonyms = Pseudonyms(settings.resolved_secret_key())
    configure_logging(settings.log_format, settings.log_level, pseudonyms)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from .app import DEMO_KEY, create_app

    settings = _settings(args)
    configure_logging_for(settings)
    try:
        app = create_app(settings)
    except TenantsFileError as exc:
        print(f"comfort: {exc}", file=sys.stderr)
        return 2
    base = settings.effective_public_url
    demo_key = app[DEMO_KEY]
    if demo_key is not None:
        # Printed once, on purpose: the only way to learn the demo tenant's key.
        print(f"\n  Session Comfort (demo mode) on {base}\n  demo API key: {demo_key}", flush=True)
    if settings.demo_enabled:
        print(f"  try the demo: {base}/demo\n", flush=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # python-engineio keeps ~200 objects per socket: with the default thresholds a full
    # collection stops the loop ~0.3 s per 1,000 sessions, several times a minute (bench/).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    deadline = _ShutdownDeadline(SHUTDOWN_DEADLINE_S)
    app.on_shutdown.insert(0, deadline.arm)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        # Requests still running once the sockets are closed get this long, then as long
        # again once cancelled (aiohttp); well inside the deadline.
        shutdown_timeout=HANDLERS_S,
    )
    deadline.disarm()
    return 0


SHUTDOWN_DEADLINE_S = 9.0  # SIGTERM to exit, whatever hangs (rolling deploys wait 10 s)
HANDLERS_S = 2.0


class _ShutdownDeadline:
    """One deadline for the whole shutdown: armed when it starts; if the process is still
    shutting down when it passes (a store that does not answer, a task that will not end), it
    says so in the log and exits at once. Committed events are durable; a send that was not yet
    acked is sent again by its client (contract §4)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timer: threading.Timer | None = None

    async def arm(self, _: object) -> None:
        self._timer = threading.Timer(self.seconds, self._exit)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _exit(self) -> None:
        structlog.get_logger(__name__).error("shutdown_deadline_passed", seconds=self.seconds)
        sys.stderr.flush()
        os._exit(1)


def cmd_token(args: argparse.Namespace) -> int:
    from .store import store_for_url
    from .tokens import TokenIssuer

    settings = _settings(args)

    async def mint() -> int:
        store = store_for_url(settings.database_url)
        await store.open()
        try:
            record = await store.get_session(args.session)
        finally:
            await store.close()
        participant = record.participant(args.participant) if record else None
        if record is None or participant is None:
            print("comfort: no such session or participant", file=sys.stderr)
            return 1
        issuer = TokenIssuer(settings.resolved_secret_key(), settings.token_ttl_seconds)
        print(issuer.mint(record.id, participant.id, participant.role))
        return 0

    return asyncio.run(mint())


def cmd_pseudonym(args: argparse.Namespace) -> int:
    """Print a participant's pseudonym in a session: how the audit trail and the logs name it."""
    pseudonyms = Pseudonyms(_settings(args).resolved_secret_key())
    print(pseudonyms.pseudonym(args.session, args.participant))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    import orjson

    from .store import store_for_url
    from .store.base import AuditQuery

    settings = _settings(args)
    query = AuditQuery(
        tenant_id=args.tenant,
        session_id=args.session,
        action_prefix=args.action,
        since=args.since,
        limit=args.limit,
    )

    async def read() -> int:
        store = store_for_url(settings.database_url)
        await store.open()
        try:
            entries = await store.read_audit(query)
        finally:
            await store.close()
        for entry in entries:
            sys.stdout.write(orjson.dumps(entry.as_json()).decode() + "\n")
        return 0

    return asyncio.run(read())


def cmd_check_tenants(args: argparse.Namespace) -> int:
    waived = _settings(args).allow_private_webhooks
    try:
        registry = TenantRegistry.from_file(args.file, allow_private_webhooks=waived)
    except TenantsFileError as exc:
        print(f"comfort: {exc}", file=sys.stderr)
        return 1
    for tenant in registry.all():
        platforms = ", ".join(sorted(tenant.integrations)) or "no platforms"
        hook = "webhook set" if tenant.webhook_url else "no webhook"
        print(f"{tenant.id}: {platforms}; {hook}")
    return 0


def cmd_hash_key(args: argparse.Namespace) -> int:
    key = args.key or getpass.getpass("API key: ")
    print(hash_key(key))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comfort", description="Session Comfort service")
    parser.add_argument("--version", action="version", version=f"comfort {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service (settings from COMFORT_* variables)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    token = sub.add_parser("token", help="print a join token for a participant of a session")
    token.add_argument("session")
    token.add_argument("participant")
    token.set_defaults(func=cmd_token)
    check = sub.add_parser("check-tenants", help="validate a tenants file and summarise it")
    check.add_argument("file", type=__import__("pathlib").Path)
    check.set_defaults(func=cmd_check_tenants)
    hashing = sub.add_parser("hash-key", help="print the SHA-256 of an API key for api_key_sha256")
    hashing.add_argument("key", nargs="?")
    hashing.set_defaults(func=cmd_hash_key)
    add_purge_command(sub)
    audit = sub.add_parser("audit", help="print the audit trail (who did what) as JSON lines")
    audit.add_argument("--tenant", help="only this tenant")
    audit.add_argument("--session", help="only this session")
    audit.add_argument("--action", help="only actions starting with this, e.g. socket. or rest.")
    audit.add_argument("--since", help="only entries at or after this RFC 3339 time")
    audit.add_argument("--limit", type=int, default=1000)
    audit.set_defaults(func=cmd_audit)
    pseudonym = sub.add_parser(
        "pseudonym",
        help="print how the audit trail and the logs name a participant of a session",
    )
    pseudonym.add_argument("session")
    pseudonym.add_argument("participant")
    pseudonym.set_defaults(func=cmd_pseudonym)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
