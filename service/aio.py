"""Small asyncio helpers shared by the background loops."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` up to `seconds`; True if it was set.

    Uses `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can swallow a
    cancellation that lands as the event fires, and a background loop that swallows its
    cancellation hangs the shutdown forever.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
