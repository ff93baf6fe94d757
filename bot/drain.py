"""Stopping one process of many without dropping anyone: SIGTERM starts a drain.

On SIGTERM, `/readyz` answers 503 at once while the process keeps serving, so the load
balancer's health check takes it out of rotation; after LEADBOT_SHUTDOWN_DRAIN_SECONDS the
usual graceful exit follows (the listener closes, sockets close with 1001 and reconnect to
another process, running turns get their grace time). A second SIGTERM, or SIGINT, stops at
once without the drain.
"""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

from bot import keys


def drain_on_sigterm(app: web.Application) -> None:
    """For `leadbot serve`: install the SIGTERM drain when the app starts (after aiohttp's own
    signal handlers, which it replaces for SIGTERM only)."""

    async def install(app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        seconds = app[keys.SETTINGS].shutdown_drain_seconds

        def begin() -> None:
            if app[keys.SHUTTING_DOWN].is_set():
                signal.raise_signal(signal.SIGINT)  # asked twice: stop now
                return
            app[keys.SHUTTING_DOWN].set()
            # aiohttp's SIGINT handler runs the graceful exit.
            loop.call_later(seconds, signal.raise_signal, signal.SIGINT)

        loop.add_signal_handler(signal.SIGTERM, begin)

    app.on_startup.append(install)
