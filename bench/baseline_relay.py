"""The bare python-socketio relay: what a vendor might build instead of the service.

python-socketio on aiohttp relaying the service's event shapes (`welcome`, `send` with an ack,
`event` to the session's room), with nothing else: no auth (the "token" is
`room|participant|role`), no validation, no storage, no replay. A per-room counter gives events a
`seq` so the generator can count gaps. Library defaults throughout (asyncio loop, stdlib json,
WebSocket compression as python-engineio offers it), as a vendor would start;
`--tuned` switches on uvloop, orjson and no compression, the service's own settings.

With `--redis-url`, several relay processes form one deployment through the library's own
`AsyncRedisManager` (every emit, welcomes included, is published on Redis and each process
delivers it to its own sockets), as the python-socketio documentation sets it up for scaling out.
The seq counter stays per process: the scale-out scenario has every sender of a room on one
process, so it stays gap-free.

    python -m bench.baseline_relay --port 8100 [--tuned] [--redis-url redis://127.0.0.1:6379]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web


def build(tuned: bool, redis_url: str | None = None) -> web.Application:
    options: dict[str, Any] = {"async_mode": "aiohttp", "ping_interval": 25, "ping_timeout": 20}
    if redis_url:
        options["client_manager"] = socketio.AsyncRedisManager(redis_url)
    if tuned:
        import orjson

        class Codec:
            @staticmethod
            def dumps(obj: Any, **_: Any) -> str:
                return orjson.dumps(obj).decode()

            @staticmethod
            def loads(raw: str | bytes, **_: Any) -> Any:
                return orjson.loads(raw)

        options.update(json=Codec, http_compression=False, websocket_compression=False)
    else:
        options["json"] = json
    sio = socketio.AsyncServer(**options)
    app = web.Application()
    sio.attach(app)
    who: dict[str, tuple[str, str, str]] = {}
    heads: dict[str, int] = {}

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/healthz", healthz)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = str(auth.get("token", "x|x|client")) if isinstance(auth, dict) else "x|x|client"
        room, participant, role = [*token.split("|"), "x", "x", "client"][:3]
        who[sid] = (room, participant, role)
        await sio.enter_room(sid, room)
        welcome = {
            "participant": {"id": participant, "role": role},
            "head_seq": heads.get(room, 0),
            "epoch": "relay",
        }
        # The welcome must follow the CONNECT packet, which is sent when this handler returns.
        sio.start_background_task(sio.emit, "welcome", welcome, to=sid)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        who.pop(sid, None)

    @sio.on("send")
    async def send(sid: str, payload: Any = None) -> dict[str, Any]:
        room, participant, role = who[sid]
        seq = heads.get(room, 0) + 1
        heads[room] = seq
        body = payload if isinstance(payload, dict) else {}
        event = {
            "seq": seq,
            "id": body.get("id"),
            "type": body.get("type"),
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "actor": {"id": participant, "role": role},
            "to": None,
            "data": body.get("data") or {},
        }
        await sio.emit("event", event, room=room)
        return {"ok": True, "seq": seq, "duplicate": False}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--tuned", action="store_true", help="uvloop, orjson, no compression")
    parser.add_argument("--redis-url", help="scale out through socketio.AsyncRedisManager")
    args = parser.parse_args()
    if args.tuned:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(
        build(args.tuned, args.redis_url),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
