"""Moves between a meeting's rooms that a platform reports as a leave and a join.

Self-hosted Jitsi's `event_sync` reports a move into a breakout room as the occupant leaving
the main room and joining the breakout room (and back again), with nothing in either request
that says "move": jitsi-meet leaves the old conference before it joins the new one, and the
requests may reach us in either order (event_sync retries failed ones a second later). A
leave that is half of a move must not be logged as the client leaving, or the therapist sees
them gone and a paused client's move fires the urgent `disconnected_in_distress`.

`MoveTracker` holds every such leave for `hold_s` and then drops it if the same participant
has, by then, another stay open that began no earlier than the one the leave ends (the join
of the move's other half, whichever order the two arrived in); otherwise the leave is applied,
`hold_s` late. The stays it remembers live in this process only: moves are recognised when a
platform's requests reach one process, which the shipped nginx ensures by hashing on the
client address; without that, a move is logged as a leave and a join, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from integrations.base import PlatformEvent, PlatformEventKind, Stay

#: How long a leave that may be half of a move waits for the other half. jitsi-meet joins the
#: new room right after leaving the old one; event_sync retries a failed request after 1 s.
MOVE_HOLD_S = 5.0
#: Stays forgotten after this long without news of the participant (a lost leave, say).
FORGET_AFTER_S = 12 * 3600.0
#: At most this many participants remembered; the longest unheard of are forgotten first.
MAX_PARTICIPANTS = 20_000

T = TypeVar("T")
_Who = tuple[str, str, str, str]  # tenant, platform, meeting, participant_ref


@dataclass
class _Stays:
    open: set[Stay] = field(default_factory=set)
    closed: set[Stay] = field(default_factory=set)
    heard_at: float = 0.0

    def superseded(self, ended: Stay) -> bool:
        """Another open stay, begun no earlier than `ended`, means the participant is still here."""
        if ended.began_at is None:
            return False
        return any(
            stay != ended and stay.began_at is not None and stay.began_at >= ended.began_at
            for stay in self.open
        )


class MoveTracker:
    """Holds platform leaves that may be half of a move between rooms (see the module docstring).

    Events without a `stay` pass straight through.
    """

    def __init__(
        self, hold_s: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.hold_s = MOVE_HOLD_S if hold_s is None else hold_s
        self._clock = clock
        self._who: OrderedDict[_Who, _Stays] = OrderedDict()

    async def apply(
        self,
        tenant_id: str,
        platform: str,
        event: PlatformEvent,
        apply_event: Callable[[PlatformEvent], Awaitable[T]],
    ) -> T | None:
        """Apply `event` through `apply_event`, holding or dropping a leave that may be a move.

        Returns what `apply_event` returned, or None for a leave that was half of a move.
        """
        stay = event.stay
        if (
            stay is None
            or not event.participant_ref
            or event.kind is PlatformEventKind.SESSION_ENDED
        ):
            return await apply_event(event)
        stays = self._stays((tenant_id, platform, event.meeting_key, event.participant_ref))
        if event.kind is PlatformEventKind.PARTICIPANT_JOINED:
            if stay not in stays.closed:  # a join that arrives after its own leave stays closed
                stays.open.add(stay)
            return await apply_event(event)
        stays.open.discard(stay)
        stays.closed.add(stay)
        await asyncio.sleep(self.hold_s)
        if stays.superseded(stay):
            return None
        return await apply_event(event)

    def _stays(self, who: _Who) -> _Stays:
        now = self._clock()
        while self._who:
            oldest = next(iter(self._who.values()))
            if len(self._who) < MAX_PARTICIPANTS and now - oldest.heard_at < FORGET_AFTER_S:
                break
            self._who.popitem(last=False)
        stays = self._who.pop(who, None) or _Stays()
        stays.heard_at = now
        self._who[who] = stays
        return stays
