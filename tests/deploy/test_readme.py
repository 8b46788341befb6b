"""deploy/README.md: the operator's guide states what the contract delegates to it (§4.6: backups
and WAL archives follow the retention it sets out), and its commands are ones `comfort` takes."""

from __future__ import annotations

import argparse
import re
import shlex

from service.retention import add_purge_command
from tests.deploy.support import DEPLOY, k8s_object

README = (DEPLOY / "README.md").read_text()


def purge_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comfort")
    add_purge_command(parser.add_subparsers(dest="command", required=True))
    return parser


def test_every_purge_command_in_the_guide_parses() -> None:
    lines = re.findall(r"\bpurge --older-than [^`\n]*", README)
    assert len(lines) >= 3
    parser = purge_parser()
    for line in lines:
        argv = [a for a in shlex.split(line) if a not in {"[--dry-run]"}]
        argv = ["90" if a in {"DAYS", "<RETENTION_DAYS>"} else a for a in argv]
        parsed = parser.parse_args(argv)
        assert parsed.older_than >= 1, line


def test_the_guide_sets_backup_retention_within_the_retention_period() -> None:
    assert "BACKUP_DAYS ≤ RETENTION_DAYS" in README
    assert "pg_archivecleanup" in README, "the WAL archive must be trimmed with the backups"
    assert "VACUUM INTO" in README and ".backup" in README
    default = k8s_object("ConfigMap", "comfort-config")["data"]["RETENTION_DAYS"]
    assert f"(default {default})" in README


def test_the_guide_covers_what_the_operator_must_know() -> None:
    for needle in (
        "invalidates every join token",
        "comfort hash-key",
        "api_key_sha256",
        "BAA",
        "even when it stores only encrypted data",
        "164.316(b)(2)(i)",
        "Breach notification",
        "Minimum necessary",
        "see `bench/README.md`",
        "TLS",
    ):
        assert needle in README, needle
