"""A process that has fallen behind refuses new connections at once (`busy`), and serves the
ones it holds (service/looplag.py; docs/protocol.md, *Busy*).

The lag is real: the test's own loop is blocked in steps, the way a saturated process runs
late, and the server under test (in this process, on this loop) measures it."""

from __future__ import annotations

import asyncio
import time

import pytest
import socketio
from structlog.testing import capture_logs

from service.appkeys import LOOP_LAG
from service.looplag import LoopLag
from service.metrics import Metrics
from tests.conftest import ServerFactory


async def run_late(seconds: float, step_s: float = 0.15) -> None:
    """Make every turn of the loop take `step_s` for `seconds`: a saturated process (a timer
    then runs a turn or two late)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        time.sleep(step_s)  # the loop stands still: every timer due meanwhile runs late
        await asyncio.sleep(0)


async def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.05)


async def test_the_lag_is_measured_and_busy_follows_its_median() -> None:
    lag = LoopLag(Metrics(), busy_after_s=0.05, window=20)
    await lag.start()
    try:
        await asyncio.sleep(1.2)
        assert not lag.busy and lag.lag_s < 0.025
        late = asyncio.create_task(run_late(8.0))
        await wait_for(lambda: lag.busy, timeout=15)
        assert lag.lag_s >= 0.05
        late.cancel()
        await asyncio.gather(late, return_exceptions=True)
        await wait_for(lambda: not lag.busy, timeout=10)  # back under half the threshold
        assert lag.lag_s < 0.025
    finally:
        await lag.stop()


def test_one_long_pause_is_not_busy_but_a_lasting_lag_is() -> None:
    """The median of the window: a garbage collection's half second is one late tick."""
    lag = LoopLag(Metrics(), busy_after_s=0.1, window=20)
    for tick in [0.002] * 19 + [0.5]:
        lag.observe(tick)
    assert not lag.busy
    for tick in [0.15] * 11:
        lag.observe(tick)
    assert lag.busy
    for tick in [0.07] * 20:  # under the threshold, not under half of it: still busy
        lag.observe(tick)
    assert lag.busy
    lag.refuse(), lag.refuse()
    with capture_logs() as logs:
        for tick in [0.01] * 11:
            lag.observe(tick)
    assert not lag.busy
    # The refusals are logged once, as busy ends, not one line each.
    assert [(e["event"], e["refused"]) for e in logs] == [("process_caught_up", 2)]


def test_without_a_threshold_it_is_never_busy_and_retries_are_spread() -> None:
    lag = LoopLag(Metrics(), busy_after_s=None, window=20)
    for _ in range(40):
        lag.observe(5.0)
    assert not lag.busy and lag.lag_s == 5.0
    waits = {LoopLag(Metrics()).retry_after_s() for _ in range(50)}
    assert len(waits) > 5 and all(5.0 <= wait <= 15.0 for wait in waits)


async def test_a_busy_process_refuses_new_connections_and_serves_the_ones_it_holds(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(busy_lag_ms=50)
    created, therapist, (client,) = await server.start_session()
    other = await server.create_session()
    lag = server.app[LOOP_LAG]
    late = asyncio.create_task(run_late(30.0))
    try:
        await wait_for(lambda: lag.busy, timeout=15)
        refused = server.peer(other["tokens"]["c-1"])
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect()
        error = refused.connect_error
        assert error["code"] == "busy", error
        assert 5 <= error["retry_after_s"] <= 15 and "busy" in error["message"]
        # What socket.io-client shows as `err.data` (the widgets read it there; contract §3).
        assert error["data"] == {k: error[k] for k in ("code", "message", "retry_after_s")}
        # What it holds goes on: the client's signal is stored, acked and delivered.
        ack = await client.send("pause")
        assert ack["ok"] is True
        await therapist.wait_type("pause")
        async with server.api.http.get(server.url + "/readyz") as r:
            body = await r.json()
        assert r.status == 200 and body["busy"] is True and body["loop_lag_ms"] >= 25
        async with server.api.http.get(server.url + "/metrics") as r:
            text = await r.text()
        assert "comfort_busy 1.0" in text
        assert 'comfort_connects_total{outcome="busy"} 1.0' in text
        assert lag.refused == 1
    finally:
        late.cancel()
        with pytest.raises(asyncio.CancelledError):
            await late
    await wait_for(lambda: not lag.busy, timeout=10)
    assert lag.refused == 0, "counted until busy ends (and logged then)"
    again = await server.join(other["tokens"]["c-1"])
    assert again.welcome is not None
    async with server.api.http.get(server.url + "/readyz") as r:
        assert (await r.json())["busy"] is False


async def test_zero_turns_the_refusals_off(server_factory: ServerFactory) -> None:
    server = await server_factory(busy_lag_ms=0)
    created = await server.create_session()
    lag = server.app[LOOP_LAG]
    late = asyncio.create_task(run_late(30.0))
    try:
        await wait_for(lambda: lag.lag_s >= 0.05, timeout=15)
        peer = await server.join(created["tokens"]["c-1"])
        assert peer.welcome is not None and not lag.busy
    finally:
        late.cancel()
        with pytest.raises(asyncio.CancelledError):
            await late
