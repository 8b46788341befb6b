"""The send pipeline: one participant's `send`, from its raw payload to its ack.

In the contract's order: a resent id is answered with its first seq (before anything else is
checked or charged); the payload is validated (`events.parse_send`); the sender's token bucket
is charged; the session must not have ended; a client's positions become session seqs
(`ClientNumbering.session_send`); the folded state must allow it (`SessionState.check_send`);
then it is appended through the engine and answered once durable, a client in its own numbering.
A therapist's `end_session` then ends the session.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ..engine import SessionEngine
from ..errors import SendError
from ..events import (
    Actor,
    CheckinRequestData,
    CheckinResponseData,
    LoggedCheckinResponseData,
    Role,
    Send,
    SeqData,
    SuggestGroundingData,
    is_event_id,
    parse_send,
)
from ..store.base import AppendOutcome, AppendRequest, AppendResult, SessionLogStore
from ..views import ClientNumbering, SendAck
from .hub import Connection, Hub, SessionRuntime

# Sends checked against state that they change themselves: one at a time per session, each
# applied here before the next is checked.
STATEFUL_SENDS = frozenset({"acknowledge", "retract", "checkin_response"})


class TokenBucket:
    """Per-participant send allowance: `rate` a second, bursts of `burst`."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class SendPipeline:
    """Checks, stores and answers participants' sends.

    Args:
        rate, burst: each participant's allowance (`COMFORT_SEND_RATE`, `COMFORT_SEND_BURST`).
    """

    def __init__(
        self,
        engine: SessionEngine,
        hub: Hub,
        store: SessionLogStore,
        *,
        rate: float = 10.0,
        burst: int = 20,
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.store = store
        self.rate, self.burst = rate, burst
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        hub.dropped.subscribe(self._forget_session)

    async def send(self, conn: Connection, payload: object) -> SendAck:
        """Handle one `send` and return its ack.

        Raises:
            SendError: the send was refused (nothing stored).
            StoreUnavailable: the store could not commit (nothing stored; send again).
        """
        runtime = self.hub.runtimes.get(conn.session_id) or await self.hub.load(conn.session_id)
        if runtime is None:
            raise SendError("the session no longer exists", code="not_found")
        runtime.sends_in_flight += 1
        try:
            seq, duplicate = await self._answer(runtime, conn, payload)
            if conn.role is Role.CLIENT and seq > runtime.head:
                await self._applied_through(runtime, seq)  # to know its position
            return ClientNumbering.ack(runtime, conn, seq, duplicate)
        finally:
            # The socket layer queues the ack as soon as this returns, without waiting, so
            # whoever waits on `sends_answered` acts after the ack is on its way.
            runtime.sends_in_flight -= 1
            if not runtime.sends_in_flight:
                runtime.sends_answered.set()

    async def _applied_through(self, runtime: SessionRuntime, seq: int) -> None:
        """Wait until `seq` is applied here, so its position is known: this process's own
        commit is being delivered, or another process stored it (read from the store)."""
        await self.engine.settled(runtime)
        if seq > runtime.head:
            await self.hub.catch_up(runtime, seq)

    async def _answer(
        self, runtime: SessionRuntime, conn: Connection, payload: object
    ) -> tuple[int, bool]:
        """The session seq the send is stored at, and whether it was stored before."""
        event_id = payload.get("id") if isinstance(payload, dict) else None
        if is_event_id(event_id):
            first = runtime.ids.get((conn.participant_id, event_id))
            if first is not None:
                return first, True
        try:
            return await self._store_new(runtime, conn, payload)
        except SendError:
            # A resend of an id stored by another process answers the first seq, not an error.
            if is_event_id(event_id):
                first = await self.store.find_duplicate(runtime.id, conn.participant_id, event_id)
                if first is not None:
                    return first, True
            raise

    async def _store_new(
        self, runtime: SessionRuntime, conn: Connection, payload: object
    ) -> tuple[int, bool]:
        send = parse_send(payload, conn.role)
        bucket_key = (runtime.id, conn.participant_id)
        bucket = self._buckets.get(bucket_key)
        if bucket is None:
            bucket = self._buckets[bucket_key] = TokenBucket(self.rate, self.burst)
        if not bucket.take():
            raise SendError("sending too fast; wait a moment", code="rate_limited")
        if runtime.ended:
            raise SendError("the session has ended", code="session_ended")
        send = ClientNumbering.session_send(runtime, conn, send)  # a position stays put
        if send.type in STATEFUL_SENDS:
            async with runtime.send_lock:
                runtime.state.check_send(conn.participant_id, conn.role, send, datetime.now(UTC))
                result = await self._append(runtime, conn, send)
                await self.engine.settled(runtime)
        else:
            runtime.state.check_send(conn.participant_id, conn.role, send, datetime.now(UTC))
            result = await self._append(runtime, conn, send)
        if send.type == "end_session" and result.outcome is AppendOutcome.STORED:
            await self.engine.end_session(runtime, by="therapist")
        assert result.seq is not None  # stored, or a duplicate of a stored one
        return result.seq, result.outcome is AppendOutcome.DUPLICATE

    async def _append(self, runtime: SessionRuntime, conn: Connection, send: Send) -> AppendResult:
        body = send.data
        to: tuple[str, ...] | None = None
        if isinstance(body, SeqData) and send.type == "acknowledge":
            owner = runtime.state.signal_owner(body.seq)  # checked: a client's signal
            assert owner is not None
            to = (owner,)  # to the signal's sender only
        elif isinstance(body, CheckinRequestData | SuggestGroundingData) and body.to:
            to = tuple(body.to)
        elif isinstance(body, CheckinResponseData) and runtime.state.answer_is_late(
            body.checkin_seq
        ):
            # Checked under the send lock, which the expiry holds too (pacing/engine.py).
            body = LoggedCheckinResponseData(
                checkin_seq=body.checkin_seq,
                value=body.value,
                pressed_at=body.pressed_at,
                late=True,
            )
        request = AppendRequest(
            session_id=runtime.id,
            actor=Actor(conn.participant_id, conn.role),
            type=send.type,
            event_id=send.id,
            data=body.model_dump(mode="json", exclude_none=True),
            to=to,
            body=body,
        )
        result = await self.engine.append(runtime, request)
        if result.outcome is AppendOutcome.ENDED:
            raise SendError("the session has ended", code="session_ended")
        if result.outcome is AppendOutcome.MISSING:
            raise SendError("the session no longer exists", code="not_found")
        return result

    def _forget_session(self, session_id: str) -> None:
        for key in [k for k in self._buckets if k[0] == session_id]:
            del self._buckets[key]
