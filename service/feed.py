"""Feeds: how a part tells the parts built after it what happened, without knowing them.

The service's runtime graph has loops: the log's commits reach the hub, the hub's applied events
reach pacing, and pacing appends cues to the log; the cluster's departures reach presence, which
counts connections in the cluster's Redis. Each loop is broken the same way: the producer owns a
`Feed` (`log.committed`, `hub.applied`, `hub.dropped`, `cluster.departed`) and announces on it;
each consumer is given the producer in its constructor and subscribes there. So every dependency
shows in `create_app` as a constructor argument, and nothing is wired by assignment afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

import structlog

log = structlog.get_logger(__name__)

P = ParamSpec("P")


class Feed(Generic[P]):
    """One kind of announcement, to the subscribers in the order they subscribed.

    `emit` never waits: it runs on the signal path, so a subscriber with slow work starts a
    task of its own. A subscriber that raises is logged with its traceback
    (`feed_subscriber_failed`) and the others are still called.
    """

    __slots__ = ("_subscribers", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._subscribers: list[Callable[P, object]] = []

    def subscribe(self, subscriber: Callable[P, object]) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Callable[P, object]) -> None:
        self._subscribers.remove(subscriber)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(*args, **kwargs)
            except Exception:
                log.exception("feed_subscriber_failed", feed=self.name)
