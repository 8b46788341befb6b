"""Feeds (service/feed.py): subscribers hear each announcement in the order they subscribed; one
that fails is logged and the others still hear it; one that unsubscribes hears no more."""

from __future__ import annotations

from structlog.testing import capture_logs

from service.feed import Feed


def test_subscribers_hear_in_order_and_a_failing_one_stops_nobody():
    feed: Feed[[str, int]] = Feed("test.feed")
    heard: list[tuple[str, str, int]] = []

    def first(name: str, n: int) -> None:
        heard.append(("first", name, n))

    def broken(name: str, n: int) -> None:
        raise RuntimeError("a subscriber's own bug")

    def last(name: str, n: int) -> None:
        heard.append(("last", name, n))

    for subscriber in (first, broken, last):
        feed.subscribe(subscriber)
    with capture_logs() as logs:
        feed.emit("a", 1)
    assert heard == [("first", "a", 1), ("last", "a", 1)]
    (failure,) = logs
    assert failure["event"] == "feed_subscriber_failed" and failure["feed"] == "test.feed"

    feed.unsubscribe(first)
    feed.unsubscribe(broken)
    feed.emit("b", 2)
    assert heard[-1] == ("last", "b", 2) and len(heard) == 3
