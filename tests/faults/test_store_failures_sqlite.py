"""The SQLite store failing under a running service: a full disk, a read-only one.

A send the store cannot commit is answered `internal` (never `ok`), nothing of it is stored, and
once the disk has room again the same id goes through without a restart: stored once, delivered
in order, the log gap-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis_client
import socketio

from tests.conftest import LiveServer, start_server
from tests.faults.disks import SmallDisk, small_disk
from tests.support import Api, Peer, ServiceProcess

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def disk(tmp_path: Path) -> AsyncIterator[SmallDisk]:
    with small_disk(tmp_path) as mounted:
        yield mounted


@pytest.fixture
async def server_on_disk(disk: SmallDisk) -> AsyncIterator[LiveServer]:
    runner, url, app = await start_server(disk.path, send_rate=1000.0, send_burst=1000)
    async with aiohttp.ClientSession() as http:
        server = LiveServer(url=url, app=app, api=Api(url, http=http))
        yield server
        for peer in server.peers:
            await asyncio.wait_for(peer.close(), 10)
    disk.free()
    await asyncio.wait_for(runner.cleanup(), 30)


async def readyz(server: LiveServer) -> tuple[int, Any]:
    return await server.api.call("GET", "/readyz")


async def test_a_full_disk_fails_sends_with_internal_and_recovers_by_itself(
    server_on_disk: LiveServer, disk: SmallDisk
) -> None:
    server = server_on_disk
    created = await server.create_session()
    sid = created["session"]["id"]
    therapist = await server.join(created["tokens"]["t-1"])
    client = await server.join(created["tokens"]["c-1"])
    before = await client.send("keep_going", id="before-full")
    assert before["ok"]
    await therapist.wait_for(lambda: "before-full" in {e["id"] for e in therapist.events})

    assert disk.fill() > 0
    failed: list[str] = []
    for i in range(200):  # the WAL may still have room for a few commits
        event_id = f"while-full-{i}"
        ack = await client.send("slow_down", id=event_id)
        if ack["ok"]:
            continue
        assert ack["error"]["code"] == "internal", ack
        assert "seq" not in ack
        failed.append(event_id)
        if len(failed) >= 3:
            break
    assert len(failed) == 3, "the disk was full, yet every send was acked"
    assert client.client.connected and therapist.client.connected

    status, body = await server.api.call(
        "POST", "/api/v1/sessions", {**_session_body(), "external_id": "full-disk"}
    )
    assert status >= 500 and body["error"]["code"] == "internal", (status, body)
    status, body = await readyz(server)
    assert status in (200, 503) and body["status"] in ("ready", "unavailable")
    full_readyz = status

    disk.free()
    for event_id in failed:
        ack = await client.send("slow_down", id=event_id)
        assert ack["ok"] and ack["duplicate"] is False, ack
    after = await client.send("keep_going", id="after-free")
    assert after["ok"] and after["duplicate"] is False
    status, _ = await readyz(server)
    assert status == 200

    await therapist.wait_for(lambda: "after-free" in {e["id"] for e in therapist.events})
    events = await server.api.events(sid)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    ids = [e["id"] for e in events if e["actor"]["id"] == "c-1"]
    assert len(ids) == len(set(ids))
    assert set(failed) <= set(ids)
    assert [e["seq"] for e in therapist.events] == sorted({e["seq"] for e in therapist.events})
    print(f"\nfull disk: failed={len(failed)} readyz_while_full={full_readyz}")


@contextlib.contextmanager
def _wal_pinned(disk: SmallDisk) -> Iterator[None]:
    """A read transaction held open on the service's database: SQLite cannot start the WAL over
    under it, so on a full disk every write that needs a new WAL frame fails, not only some."""
    conn = sqlite3.connect(disk.path / "comfort.db", isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sessions").fetchall()
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def _fill_until_writes_fail(server: LiveServer, disk: SmallDisk) -> None:
    assert disk.fill() > 0
    for _ in range(200):  # use up what room the WAL still has
        status, _ = await server.api.call("POST", "/api/v1/sessions", _session_body())
        if status >= 500:
            return
    raise AssertionError("the disk was full, yet every write went through")


def _presence(events: list[dict[str, Any]], who: str) -> list[str]:
    return [
        e["type"]
        for e in events
        if e["type"] in ("participant_joined", "participant_left")
        and e["data"]["participant"]["id"] == who
    ]


async def test_a_join_the_store_cannot_log_is_logged_once_it_can_and_never_undone_before(
    server_on_disk: LiveServer, disk: SmallDisk
) -> None:
    """A client connects while the store cannot write: its `participant_joined` is not stored.
    Left so, the log would show the client away while it is here: the session would never
    start, and no departure would ever be logged. So the join is tried again while the socket
    stays, and logged as soon as the store can write; and a socket that goes before that logs
    no departure for a join the log never had."""
    server = server_on_disk
    created = await server.create_session()
    therapist = await server.join(created["tokens"]["t-1"])
    await therapist.wait_type("participant_joined")
    with _wal_pinned(disk):
        await _joins_while_full(server, disk, created, therapist)


async def _joins_while_full(
    server: LiveServer, disk: SmallDisk, created: dict[str, Any], therapist: Peer
) -> None:
    sid = created["session"]["id"]
    # Gone before the join could be logged: nothing of it in the log, even once writes work.
    await _fill_until_writes_fail(server, disk)
    early = await server.peer(created["tokens"]["c-1"]).connect()  # welcomed: reads still work
    await asyncio.sleep(0.3)
    disk.free()
    await early.close()
    await asyncio.sleep(2.5)  # past the first retry
    assert _presence(await server.api.events(sid), "c-1") == []

    # Here while the store cannot write, and still here when it can: joined, and started.
    await _fill_until_writes_fail(server, disk)
    client = await server.peer(created["tokens"]["c-1"]).connect()
    ack = await client.send("keep_going", id="while-full")
    assert ack["ok"] is False and ack["error"]["code"] == "internal", ack
    await asyncio.sleep(1.5)  # a retry or two, refused
    assert _presence(await server.api.events(sid), "c-1") == []
    disk.free()
    await therapist.wait_type("session_started", timeout=15)
    assert client.client.connected, "the socket stayed throughout"
    events = await server.api.events(sid)
    assert _presence(events, "c-1") == ["participant_joined"]
    assert _presence(events, "t-1") == ["participant_joined"]
    joined = next(
        e
        for e in events
        if e["type"] == "participant_joined" and e["data"]["participant"]["id"] == "c-1"
    )
    started = next(e for e in events if e["type"] == "session_started")
    assert joined["seq"] < started["seq"]
    assert (await client.send("keep_going", id="while-full"))["ok"]


REDIS_DB_URL = "redis://127.0.0.1:6379/12"  # a database of its own (tests/cluster use 0 and 11)


async def test_a_departure_the_store_cannot_log_is_announced_again_until_it_is(
    disk: SmallDisk,
) -> None:
    """A client's only connection was held by a process that died. The reaper announces the
    departure; if the store cannot log the leave then, the dead holding must stay in Redis, so
    the next round announces it again: dropped first, the leave was lost for good."""
    from service.appkeys import CLUSTER, STORE
    from service.events import SYSTEM_ACTOR, PresenceData
    from service.realtime.cluster import PRESENCE_SESSIONS, _presence_key
    from service.store.base import AppendRequest

    flush = redis_client.from_url(REDIS_DB_URL)
    await flush.flushdb()
    runner, url, app = await start_server(
        disk.path, redis_url=REDIS_DB_URL, presence_grace_seconds=0, send_rate=1000.0
    )
    try:
        async with aiohttp.ClientSession() as http:
            server = LiveServer(url=url, app=app, api=Api(url, http=http))
            created = await server.create_session()
            sid = created["session"]["id"]
            therapist = await server.join(created["tokens"]["t-1"])
            # c-1 joined through a process that has since died: its join is in the log, and
            # its holding in Redis names a process with no heartbeat.
            body = PresenceData.model_validate(
                {"participant": {"id": "c-1", "role": "client"}, "via": "widget"}
            )
            await app[STORE].append_batch(
                [
                    AppendRequest(
                        session_id=sid,
                        actor=SYSTEM_ACTOR,
                        type="participant_joined",
                        event_id="participant_joined:widget:c-1:1",
                        data=body.model_dump(mode="json"),
                        body=body,
                    )
                ]
            )
            holding = "c-1\x1fdeadprocess"
            await flush.hincrby(_presence_key(sid), holding, 1)
            await flush.sadd(PRESENCE_SESSIONS, sid)
            cluster = app[CLUSTER]
            assert cluster is not None

            with _wal_pinned(disk):
                await _fill_until_writes_fail(server, disk)
                await cluster.reap_once()
                await asyncio.sleep(1.0)  # the departure's task ran, and could not log
                assert _presence(await server.api.events(sid), "c-1") == ["participant_joined"]
                assert await flush.hget(_presence_key(sid), holding) == b"1", "dropped unlogged"
                disk.free()
                await cluster.reap_once()  # announced again: logged now, then dropped
                await therapist.wait_for(
                    lambda: any(e["type"] == "participant_left" for e in therapist.events), 10
                )
            for _ in range(50):
                if await flush.hget(_presence_key(sid), holding) is None:
                    break
                await asyncio.sleep(0.1)
            assert await flush.hget(_presence_key(sid), holding) is None
            await cluster.reap_once()
            await asyncio.sleep(0.5)
            events = await server.api.events(sid)
            assert _presence(events, "c-1") == ["participant_joined", "participant_left"]
            await therapist.close()
    finally:
        disk.free()
        await asyncio.wait_for(runner.cleanup(), 30)
        await flush.flushdb()
        await flush.aclose()


def _session_body() -> dict[str, Any]:
    from tests.support import session_body

    return session_body(external_id=f"room-{uuid.uuid4().hex[:8]}")


# -- a read-only file system -------------------------------------------------------------------
#
# A file system cannot be made read-only under files open for writing (remount answers EBUSY), so
# these tests do what happens in production: the service dies (SIGKILL), its volume comes back
# read-only, and the service is started on it. SQLite then opens the database read-only.


@pytest.fixture
async def read_only_service(tmp_path: Path, disk: SmallDisk) -> AsyncIterator[tuple[Any, ...]]:
    """A `comfort serve` whose database lives on `disk`, restarted after a crash on `disk`
    mounted read-only; yields (service, api, created session, disk)."""
    env = {"COMFORT_DATABASE_URL": f"sqlite:///{disk.path}/comfort.db"}
    service = ServiceProcess(tmp_path / "data", env=env)
    await service.start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            peer = await Peer(service.url, created["tokens"]["c-1"]).connect()
            assert (await peer.send("keep_going", id="before-crash"))["ok"]
            await peer.close()
            service.kill()  # leaves its WAL behind, as a crash does
            disk.remount("ro")
            await service.start(ready_path="/healthz")  # not ready: the store refuses writes
            yield service, api, created, disk
    finally:
        service.kill()
        disk.remount("rw")


async def test_sends_on_a_read_only_store_answer_internal_and_store_nothing(
    read_only_service: tuple[Any, ...],
) -> None:
    """On a read-only store every write is answered `internal` and nothing is stored. Whether
    the store can still be *read* depends on where the crash left its WAL (SQLite cannot replay
    one read-only): then a connect is refused `connect_error internal` too, as the contract
    allows, and the log cannot be listed (503)."""
    service, api, created, disk = read_only_service
    sid = created["session"]["id"]
    client = Peer(service.url, created["tokens"]["c-1"])
    try:
        await client.connect()
    except socketio.exceptions.ConnectionError:
        assert client.connect_error is not None
        assert client.connect_error["code"] == "internal", client.connect_error
    try:
        if client.client.connected:
            for i in range(3):
                ack = await client.send("pause", id=f"ro-{i}")
                assert ack["ok"] is False and ack["error"]["code"] == "internal", ack
            assert client.client.connected
        status, body = await api.call("POST", "/api/v1/sessions", _session_body())
        assert status == 503 and body["error"]["code"] == "internal"
        status, body = await api.call("GET", f"/api/v1/sessions/{sid}/events")
        if status == 200:
            events = body["events"]
            assert not [e for e in events if e["id"].startswith("ro-")]
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        else:
            assert status == 503 and body["error"]["code"] == "internal", body
    finally:
        await client.close()


async def test_the_service_recovers_by_itself_when_the_store_is_writable_again(
    read_only_service: tuple[Any, ...],
) -> None:
    service, api, created, disk = read_only_service
    client = Peer(service.url, created["tokens"]["c-1"])
    try:
        await client.connect()
    except socketio.exceptions.ConnectionError:
        # Also an answer the contract allows on a read-only store: the session could not be
        # read (a WAL the crash left behind cannot be replayed read-only), `internal`.
        assert client.connect_error is not None
        assert client.connect_error["code"] == "internal", client.connect_error
    else:
        assert (await client.send("pause", id="ro-then-rw"))["ok"] is False
    disk.remount("rw")
    deadline = asyncio.get_running_loop().time() + 10
    try:
        while not client.client.connected:
            try:
                await client.connect()
            except socketio.exceptions.ConnectionError:
                assert asyncio.get_running_loop().time() < deadline, client.connect_error
                await asyncio.sleep(0.5)
        while True:
            ack = await client.send("pause", id="ro-then-rw")
            if ack["ok"] or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        assert ack["ok"] and ack["duplicate"] is False, ack
    finally:
        await client.close()


async def test_readyz_is_not_ready_while_the_store_refuses_writes(
    read_only_service: tuple[Any, ...],
) -> None:
    service, api, created, disk = read_only_service
    status, body = await api.call("GET", "/readyz")
    assert status == 503 and body["store"] != "ok", body


async def test_a_store_that_cannot_open_makes_serve_exit_rather_than_hang(
    tmp_path: Path, disk: SmallDisk
) -> None:
    env = {"COMFORT_DATABASE_URL": f"sqlite:///{disk.path}/comfort.db"}
    service = ServiceProcess(tmp_path / "data", env=env)
    await service.start()
    service.terminate()  # a clean stop removes the WAL and its index
    disk.remount("ro")
    try:
        with pytest.raises(RuntimeError):
            await service.start(timeout=3)
        assert service.proc is not None
        for _ in range(100):
            if service.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert service.proc.poll() not in (None, 0), "serve neither serves nor exits"
        assert "store" in service.logs() or "database" in service.logs()
    finally:
        service.kill()
        disk.remount("rw")


async def test_a_connect_while_the_disk_is_full_is_logged_once_it_has_room(
    server_on_disk: LiveServer, disk: SmallDisk
) -> None:
    """A participant who connects while nothing can be stored is still welcomed; once the disk
    has room again its presence reaches the log (and the session starts), without a reconnect."""
    server = server_on_disk
    created = await server.create_session()
    sid = created["session"]["id"]
    therapist = await server.join(created["tokens"]["t-1"])
    disk.fill()
    for i in range(200):  # use up the WAL's spare room: the next append is one that fails
        ack = await therapist.send("suggest_grounding", {"exercise": "five_senses"}, id=f"s-{i}")
        if not ack["ok"]:
            assert ack["error"]["code"] == "internal"
            break
    assert not ack["ok"], "the disk never filled"
    client = await server.join(created["tokens"]["c-1"])
    assert client.welcome is not None
    disk.free()
    ack = await client.send("keep_going", id="after-room")
    assert ack["ok"], ack
    await therapist.wait_for(lambda: "after-room" in {e["id"] for e in therapist.events})
    events = await server.api.events(sid)
    joined = [e["data"]["participant"]["id"] for e in events if e["type"] == "participant_joined"]
    assert "c-1" in joined, [(e["seq"], e["type"]) for e in events]
    _, body = await server.api.call("GET", f"/api/v1/sessions/{sid}")
    assert {p["id"]: p["connected"] for p in body["session"]["participants"]}["c-1"] is True
