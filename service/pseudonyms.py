"""Participant pseudonyms: what the audit trail and the service's own logs name a participant by.

A vendor chooses participant ids, and some choose e-mail addresses. The audit trail outlives the
session (an erasure keeps the record that it happened) and logs are kept apart from the store,
so neither may hold the id itself: both hold `pseudonym(session_id, participant_id)`, a keyed
HMAC with a key derived from the service's secret (`Settings.resolved_secret_key`). The same
participant of the same session has the same pseudonym in both, so an operator can follow one
participant through the logs and the trail; the vendor, who knows the ids, can ask which
participant a pseudonym was (`comfort pseudonym SESSION PARTICIPANT`, or this function) for as
long as the secret is kept.

The tenant is not an input: a session id is 128 random bits and belongs to exactly one tenant,
so (session, participant) already names one participant of one tenant, and log lines carry the
session id but rarely the tenant. What a pseudonym is not: anonymous. Whoever holds the secret
and a session id can test a guessed id against it; erasure makes the id unreadable, not
unguessable to the secret's holder (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re

PREFIX = "pid_"
_LENGTH = 24  # hex digits: 96 bits, no collision among a session's participants in practice
_SHAPE = re.compile(rf"{PREFIX}[0-9a-f]{{{_LENGTH}}}")


class Pseudonyms:
    """Keyed pseudonyms of participant ids, one key per deployment (from its secret)."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(
            secret.encode(), b"comfort participant pseudonym v1", "sha256"
        ).digest()

    def pseudonym(self, session_id: str | None, participant_id: str) -> str:
        """`pid_` and 24 hex digits of HMAC-SHA256 over the session id and the participant id,
        each length-prefixed (so no two pairs share an input). A value that already is a
        pseudonym is returned as it is."""
        if is_pseudonym(participant_id):
            return participant_id
        message = b"".join(_framed(part) for part in (session_id or "", participant_id))
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return PREFIX + digest[:_LENGTH]


def is_pseudonym(value: str) -> bool:
    return _SHAPE.fullmatch(value) is not None


def _framed(part: str) -> bytes:
    # surrogatepass: a lone surrogate in an id still hashes (never raises on the log path).
    data = part.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(4, "big") + data
