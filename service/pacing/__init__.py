"""Pacing cues, check-in expiry, the session summary and vendor webhooks, wired into the app.

`setup_pacing(app)` is all `create_app` needs: it builds one `PacingEngine` for the app's
`SessionEngine`, and starts and stops it with the app. The summary route is declared in
`service.http.api.ROUTES` with its handler; the summary itself is `service.summary`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..appkeys import ENGINE, METRICS, TENANTS
from .engine import PacingEngine, PacingOptions
from .state import Cue, PacingState

__all__ = ["PACING", "Cue", "PacingEngine", "PacingOptions", "PacingState", "setup_pacing"]

PACING: web.AppKey[PacingEngine] = web.AppKey("pacing", PacingEngine)


def setup_pacing(app: web.Application, options: PacingOptions | None = None) -> None:
    """Mount the pacing engine on `app` (once; a second call only applies its `options`).

    Its background tasks start in a cleanup context and stop at shutdown, before the session
    engine and the store close. They tolerate a store that is not open yet, so this may be
    called before or after the store's and the engine's cleanup contexts are registered.
    """
    if PACING in app:
        if options is not None:
            app[PACING].configure(options)
        return
    pacing = PacingEngine(app[ENGINE], app[TENANTS], options, app[METRICS].registry)
    app[PACING] = pacing

    async def run_pacing(app: web.Application) -> AsyncIterator[None]:
        await pacing.start()
        yield
        await pacing.stop()

    async def stop_pacing(app: web.Application) -> None:
        await pacing.stop()

    app.cleanup_ctx.append(run_pacing)
    app.on_shutdown.append(stop_pacing)
