"""Who is connected where: counts of widget connections per participant.

`LocalPresence` serves one process (the embedded default). `RedisPresence` (in `cluster.py`)
shares the counts of every process of a deployment, with process heartbeats, so a participant
is gone only when no live process holds one of its connections.
"""

from __future__ import annotations

from typing import Protocol


class Presence(Protocol):
    """Connection counts per (session, participant)."""

    def here(self, session_id: str, participant_id: str) -> bool:
        """Does this process hold a connection of the participant?"""

    async def add(self, session_id: str, participant_id: str) -> None: ...

    async def remove(self, session_id: str, participant_id: str) -> int:
        """Drop one connection; answer how many the whole deployment still holds."""

    async def connected_anywhere(self, session_id: str, participant_id: str) -> bool: ...

    def forget_session(self, session_id: str) -> None: ...


class LocalPresence:
    """Presence for a single-process deployment."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    def here(self, session_id: str, participant_id: str) -> bool:
        return self._counts.get((session_id, participant_id), 0) > 0

    async def add(self, session_id: str, participant_id: str) -> None:
        key = (session_id, participant_id)
        self._counts[key] = self._counts.get(key, 0) + 1

    async def remove(self, session_id: str, participant_id: str) -> int:
        key = (session_id, participant_id)
        remaining = self._counts.get(key, 1) - 1
        if remaining > 0:
            self._counts[key] = remaining
        else:
            self._counts.pop(key, None)
        return max(remaining, 0)

    async def connected_anywhere(self, session_id: str, participant_id: str) -> bool:
        return self.here(session_id, participant_id)

    def forget_session(self, session_id: str) -> None:
        for key in [k for k in self._counts if k[0] == session_id]:
            del self._counts[key]
