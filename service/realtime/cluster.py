"""Several service processes as one deployment, through Redis (`COMFORT_REDIS_URL`).

- **Fan-out.** After each commit a process publishes the stored events on one Redis channel;
  every other process hands them to its loaded sessions. Redis pub/sub is at-most-once, so this
  is only the fast path: each process also compares its sessions' heads with the store every
  `COMFORT_CATCHUP_INTERVAL_SECONDS` and reads what it missed, in order, and catches up at once
  when its subscription comes back. A lost message therefore costs latency, never an event.
- **Presence.** Connection counts per participant and process live in Redis hashes; each process
  keeps a heartbeat key. A participant leaves when no live process holds a connection of theirs;
  the connections of a process whose heartbeat lapsed are dropped after the grace period and, if
  nobody else holds that participant, `participant_left` is logged (its deterministic id makes
  that happen once even when several processes notice together).
- **Erasure.** An erase is broadcast so other processes drop the session and its sockets; the
  head check notices an erased session too, should the broadcast be lost.

`Cluster` subscribes to the session log's `committed` feed (what this process stored goes out),
hands what other processes stored to the hub, and announces on `departed` the participants
whose every connection was held by processes that died (presence logs them as left, then drops
the dead holding; until it has, the reaper announces it again each round, so a departure the
store could not log is not lost).

Why not python-socketio's `AsyncRedisManager`: it publishes every emit (welcomes included) and
delivers room emits without the per-socket seq cursor that guarantees order, dedupe and gap
repair; our delivery needs those, and a Redis outage must not stop welcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

import orjson
import redis.asyncio as redis
import structlog

from ..engine import SessionEngine
from ..events import Event
from ..feed import Feed
from ..metrics import Metrics
from .hub import Hub

log = structlog.get_logger(__name__)

EVENTS_CHANNEL = "comfort:events"
CONTROL_CHANNEL = "comfort:control"
HEARTBEAT_TTL_S = 10
HEARTBEAT_EVERY_S = 3.0
REAP_EVERY_S = 5.0
SEP = "\x1f"
PRESENCE_SESSIONS = "comfort:presence:sessions"
REAP_BATCH = 500  # sessions read per pipeline by the reaper
_FORGET_IF_EMPTY = (
    "if redis.call('exists', KEYS[1]) == 0 then return redis.call('srem', KEYS[2], ARGV[1]) end"
    " return 0"
)


def _presence_key(session_id: str) -> str:
    return f"comfort:presence:{session_id}"


def _proc_key(process_id: str) -> str:
    return f"comfort:proc:{process_id}"


class RedisPresence:
    """`Presence` shared by every process of the deployment."""

    def __init__(self, client: redis.Redis, process_id: str) -> None:
        self.redis = client
        self.process_id = process_id
        self._local: dict[tuple[str, str], int] = {}

    def here(self, session_id: str, participant_id: str) -> bool:
        return self._local.get((session_id, participant_id), 0) > 0

    async def add(self, session_id: str, participant_id: str) -> None:
        key = (session_id, participant_id)
        self._local[key] = self._local.get(key, 0) + 1
        with contextlib.suppress(redis.RedisError, OSError):
            pipe = self.redis.pipeline(transaction=False)
            pipe.hincrby(_presence_key(session_id), f"{participant_id}{SEP}{self.process_id}", 1)
            pipe.sadd(PRESENCE_SESSIONS, session_id)
            await pipe.execute()

    async def remove(self, session_id: str, participant_id: str) -> int:
        key = (session_id, participant_id)
        remaining_here = self._local.get(key, 1) - 1
        if remaining_here > 0:
            self._local[key] = remaining_here
        else:
            self._local.pop(key, None)
        field = f"{participant_id}{SEP}{self.process_id}"
        try:
            if remaining_here > 0:
                await self.redis.hincrby(_presence_key(session_id), field, -1)
                return remaining_here
            await self.redis.hdel(_presence_key(session_id), field)
            return await self._live_count(session_id, participant_id)
        except (redis.RedisError, OSError):
            # Without Redis only this process's view is known.
            return max(remaining_here, 0)

    async def connected_anywhere(self, session_id: str, participant_id: str) -> bool:
        if self.here(session_id, participant_id):
            return True
        try:
            return await self._live_count(session_id, participant_id) > 0
        except (redis.RedisError, OSError):
            return False

    async def _live_count(self, session_id: str, participant_id: str) -> int:
        fields = await self.redis.hgetall(_presence_key(session_id))
        holders = [
            (proc, int(count))
            for raw, count in fields.items()
            for pid, _, proc in [_text(raw).partition(SEP)]
            if pid == participant_id and int(count) > 0
        ]
        if not holders:
            return 0
        alive = await self._alive([proc for proc, _ in holders])
        return sum(count for proc, count in holders if proc in alive)

    async def _alive(self, processes: list[str]) -> set[str]:
        unique = sorted(set(processes))
        pipe = self.redis.pipeline(transaction=False)
        for proc in unique:
            pipe.exists(_proc_key(proc))
        flags = await pipe.execute()
        return {proc for proc, flag in zip(unique, flags, strict=True) if flag}

    def forget_session(self, session_id: str) -> None:
        for key in [k for k in self._local if k[0] == session_id]:
            del self._local[key]

    async def dead_holdings(self) -> list[tuple[str, str, str]]:
        """(session, participant, process) for connections held by processes that lapsed.

        Every process runs this every `REAP_EVERY_S` over every session with presence, so it
        reads them `REAP_BATCH` at a time: one pipeline of HGETALLs, one of EXISTS for the
        processes they name. One round trip per session and another per holder (as it was)
        cost a fifth of a process's CPU at 2,000 sessions, in bursts the latency tail showed
        (`bench/README.md`, the scale-out profile)."""
        found: list[tuple[str, str, str]] = []
        sessions = sorted(_text(raw) for raw in await self.redis.smembers(PRESENCE_SESSIONS))
        for start in range(0, len(sessions), REAP_BATCH):
            batch = sessions[start : start + REAP_BATCH]
            pipe = self.redis.pipeline(transaction=False)
            for session_id in batch:
                pipe.hgetall(_presence_key(session_id))
            held = [
                (session_id, [_text(raw).partition(SEP) for raw in fields])
                for session_id, fields in zip(batch, await pipe.execute(), strict=True)
            ]
            empty = [session_id for session_id, entries in held if not entries]
            if empty:
                # Atomically, so a connection counted meanwhile keeps its session listed.
                pipe = self.redis.pipeline(transaction=False)
                for session_id in empty:
                    pipe.eval(
                        _FORGET_IF_EMPTY,
                        2,
                        _presence_key(session_id),
                        PRESENCE_SESSIONS,
                        session_id,
                    )
                await pipe.execute()
            alive = await self._alive([proc for _, entries in held for _, _, proc in entries])
            found += [
                (session_id, pid, proc)
                for session_id, entries in held
                for pid, _, proc in entries
                if proc not in alive
            ]
        return found

    async def drop(self, session_id: str, participant_id: str, process_id: str) -> None:
        await self.redis.hdel(_presence_key(session_id), f"{participant_id}{SEP}{process_id}")


class Cluster:
    """This process's membership of a Redis-backed deployment."""

    def __init__(
        self,
        url: str,
        metrics: Metrics,
        committed: Feed[[list[tuple[str, Event]]]],
        hub: Hub,
        engine: SessionEngine,
        *,
        grace_seconds: float,
    ) -> None:
        self.process_id = secrets.token_hex(6)
        self.redis = redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=10
        )
        self.presence = RedisPresence(self.redis, self.process_id)
        self.metrics = metrics
        self.hub = hub
        self.engine = engine
        self.grace_seconds = grace_seconds
        self.departed: Feed[[str, str, str]] = Feed("cluster.departed")
        """(session, participant, dead process): every connection of the participant was held
        by processes that died. The subscriber drops the holding once the leave is logged."""
        self._outbox: list[bytes] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._dead_since: dict[tuple[str, str, str], float] = {}
        self.up = False
        committed.subscribe(self.publish)

    async def start(self) -> None:
        for name, coro in (
            ("cluster-heartbeat", self._heartbeat()),
            ("cluster-publisher", self._publisher()),
            ("cluster-subscriber", self._subscriber()),
            ("cluster-reaper", self._reaper()),
        ):
            self._tasks.append(asyncio.create_task(coro, name=name))
        log.info("cluster_joined", process_id=self.process_id)

    async def stop(self) -> None:
        await self._flush()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(redis.RedisError, OSError):
            await self.redis.delete(_proc_key(self.process_id))
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    async def ping(self) -> bool:
        try:
            await self.redis.ping()
        except (redis.RedisError, OSError):
            self._set_up(False)
            return False
        self._set_up(True)
        return True

    def _set_up(self, up: bool) -> None:
        if up != self.up:
            log.info("redis_state", up=up)
        self.up = up
        self.metrics.redis_up.set(1 if up else 0)

    # -- fan-out -----------------------------------------------------------------------------

    def publish(self, stored: list[tuple[str, Event]]) -> None:
        """Queue stored events for the other processes (never blocks the writer)."""
        parts = [b'["' + sid.encode() + b'",' + event.wire + b"]" for sid, event in stored]
        self._outbox.append(
            b'{"p":"' + self.process_id.encode() + b'","events":[' + b",".join(parts) + b"]}"
        )
        self._wake.set()

    async def broadcast_erase(self, session_id: str) -> None:
        with contextlib.suppress(redis.RedisError, OSError):
            await self.redis.publish(
                CONTROL_CHANNEL, orjson.dumps({"p": self.process_id, "erase": session_id})
            )

    async def _publisher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        if not self._outbox:
            return
        batch, self._outbox = self._outbox, []
        try:
            pipe = self.redis.pipeline(transaction=False)
            for message in batch:
                pipe.publish(EVENTS_CHANNEL, message)
            await pipe.execute()
            self._set_up(True)
        except (redis.RedisError, OSError):
            # Lost on purpose: the other processes' head checks read these from the store.
            self._set_up(False)

    async def _subscriber(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(EVENTS_CHANNEL, CONTROL_CHANNEL)
                self._set_up(True)
                backoff = 0.2
                await self.engine.catch_up_all()  # whatever was published while not listening
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        await self._handle(message)
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError):
                self._set_up(False)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            except Exception:
                log.exception("cluster_subscriber_failed")
                await asyncio.sleep(backoff)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _handle(self, message: dict[str, Any]) -> None:
        body = orjson.loads(message["data"])
        if body.get("p") == self.process_id:
            return
        channel = (
            message["channel"].decode()
            if isinstance(message["channel"], bytes)
            else message["channel"]
        )
        if channel == CONTROL_CHANNEL:
            if isinstance(body.get("erase"), str):
                await self.hub.drop(body["erase"])
            return
        stored = [(sid, _event_from(obj)) for sid, obj in body["events"]]
        self.hub.publish(stored)

    # -- liveness and departures --------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self.redis.set(
                    _proc_key(self.process_id), str(time.time()), ex=HEARTBEAT_TTL_S
                )
                self._set_up(True)
            except (redis.RedisError, OSError):
                self._set_up(False)
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    async def _reaper(self) -> None:
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            try:
                await self.reap_once()
            except (redis.RedisError, OSError):
                self._set_up(False)
            except Exception:
                log.exception("cluster_reaper_failed")

    async def reap_once(self) -> None:
        now = time.monotonic()
        dead = await self.presence.dead_holdings()
        current = set(dead)
        for key in [k for k in self._dead_since if k not in current]:
            del self._dead_since[key]
        for key in dead:
            since = self._dead_since.setdefault(key, now)
            # The heartbeat lapses HEARTBEAT_TTL_S after the process stopped.
            if now - since + HEARTBEAT_TTL_S < self.grace_seconds:
                continue
            session_id, participant_id, process_id = key
            if await self.presence.connected_anywhere(session_id, participant_id):
                # Here through a live process: nothing to log, only the dead holding to forget.
                await self.presence.drop(session_id, participant_id, process_id)
                del self._dead_since[key]
            else:
                # Presence drops the holding once the leave is stored; till then it stays, and
                # is announced again next round (the leave's fixed id keeps it to one).
                self.departed.emit(session_id, participant_id, process_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event_from(obj: dict[str, Any]) -> Event:
    return Event.from_wire(orjson.dumps(obj))
