"""Sockets: memory of one `leadbot serve` process holding 10,000 idle widget connections.

Each simulated visitor has a conversation (opened on the widget socket, `/ws/chat`: hello, then
the greeting) and holds an idle widget socket, answering the server's heartbeat pings. The
server's RSS (VmRSS in /proc/<pid>/status) and open file descriptors are read after each step:

1. before any connection;
2. N conversations started, each socket closed once its greeting is in (at most 64 open at a
   time): the memory the conversations take in the embedded store;
3. N sockets connected by their visitor tokens and left idle: the memory per socket alone;
4. all closed (RSS after all disconnect);
5. N connected again, then closed again: freed memory stays with a CPython process, so this
   shows whether it is reused (near 0 KiB each) or leaked (as much again).

The baseline, measured the same way in the same run (steps 1, 3, 4 and 5), is an echo server
on aiohttp's own websocket (same heartbeat and message-size settings, a hello frame on connect):
the floor for an aiohttp websocket in a Python process. leadbot runs as its own process on the
embedded store, the echo server as its own process; the clients are asyncio tasks in this
process (aiohttp). The fd limit is raised with `resource.setrlimit` here; the servers inherit it.

    python bench/sockets.py                    # 10,000 connections
    python bench/sockets.py --quick            # 1,000 connections, < 60 s
    python bench/sockets.py --connections 5000 --settle 5
    python bench/sockets.py --before           # first as before issue 7 (bench/as_before.py)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    AS_BEFORE,
    AS_SHIPPED,
    clean_env,
    free_port,
    leadbot_server,
    machine_note,
    progress,
    raise_fd_limit,
    rss_kib,
    stop,
    stop_on_sigterm,
    table,
    wait_http,
)

OPENING = 64  # connections being opened at once (the listen backlog is 128)


# -- the baseline: an echo server on aiohttp's websocket ---------------------------------------


def echo_app() -> web.Application:
    sockets: set[web.WebSocketResponse] = set()

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=1 << 20)  # as channels/web.py
        await ws.prepare(request)
        sockets.add(ws)
        try:
            await ws.send_json({"type": "hello"})
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await ws.send_str(message.data)
        finally:
            sockets.discard(ws)
        return ws

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ws/echo", echo)
    app.router.add_get("/ok", ok)
    return app


@contextlib.asynccontextmanager
async def echo_server(log: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = free_port()
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--echo-server", str(port), env=clean_env(), stdout=out, stderr=out
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_http(f"{base}/ok", process=process)
            yield process, base
        finally:
            await stop(process)


# -- the clients -------------------------------------------------------------------------------


@dataclass
class Visitors:
    """Idle widget connections held by this process, and the conversations they belong to."""

    http: aiohttp.ClientSession
    url: str
    greeting: bool  # leadbot: a hello, then the greeting message; echo: a hello only
    tokens: list[tuple[str, int]] = field(default_factory=list)  # (visitor token, last seq)
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def _open(self, url: str, resume: bool) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(url, autoping=True, max_msg_size=1 << 20)
        hello = await ws.receive_json()
        if resume:  # nothing comes after the seq we gave: the hello only
            return ws
        if self.greeting:
            frame = await ws.receive_json()
            while frame["type"] != "message":
                frame = await ws.receive_json()
            self.tokens.append((hello["visitor_token"], frame["seq"]))
        return ws

    @staticmethod
    async def _idle(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _ in ws:  # answers heartbeat pings; nothing else arrives
            pass

    async def _each(self, n: int, one: Callable[[int], Awaitable[None]]) -> float:
        gate = asyncio.Semaphore(OPENING)

        async def gated(i: int) -> None:
            async with gate:
                await one(i)

        started = time.perf_counter()
        await asyncio.gather(*(gated(i) for i in range(n)))
        return time.perf_counter() - started

    async def start_conversations(self, n: int) -> float:
        """n new conversations, each socket closed once the greeting is in (at most OPENING open)."""

        async def one(i: int) -> None:
            ws = await self._open(self.url, resume=False)
            await ws.close()

        return await self._each(n, one)

    async def hold(self, n: int, resume: bool) -> float:
        """Open n connections and keep them (by the stored visitor tokens if `resume`)."""

        async def one(i: int) -> None:
            token, seq = self.tokens[i] if resume else ("", 0)
            url = f"{self.url}?token={token}&after_seq={seq}" if resume else self.url
            ws = await self._open(url, resume)
            self.sockets.append(ws)
            self.readers.append(asyncio.create_task(self._idle(ws)))

        return await self._each(n, one)

    async def close(self) -> float:
        gate = asyncio.Semaphore(OPENING * 4)

        async def one(ws: aiohttp.ClientWebSocketResponse) -> None:
            async with gate:
                await ws.close()

        started = time.perf_counter()
        await asyncio.gather(*(one(ws) for ws in self.sockets))
        await asyncio.gather(*self.readers, return_exceptions=True)
        self.sockets, self.readers = [], []
        return time.perf_counter() - started


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Step:
    server: str
    name: str
    rss_kib: int
    fds: int
    seconds: float | None = None  # what the step took (connecting, closing …)
    per: str | None = None  # what "KiB per connection" means on this row


async def measure(
    server: str, process: asyncio.subprocess.Process, url: str, n: int, settle: float
) -> list[Step]:
    """echo: before → n held → all closed. leadbot: before → n conversations started (sockets
    closed) → n held by visitor token → all closed; so the store's share and the sockets' share
    of the memory show apart."""
    steps: list[Step] = []

    async def look(name: str, seconds: float | None = None, per: str | None = None) -> None:
        progress(f"{server}: {name}" + ("" if seconds is None else f" ({seconds:.1f} s)"))
        await asyncio.sleep(settle)
        steps.append(Step(server, name, rss_kib(process.pid), open_fds(process.pid), seconds, per))

    leadbot = server.startswith("leadbot")
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        visitors = Visitors(http, url, greeting=leadbot)
        await look("before")
        if leadbot:
            took = await visitors.start_conversations(n)
            await look(f"{n:,} conversations, sockets closed", took, "conversation")
        await look(f"{n:,} connected, idle", await visitors.hold(n, resume=leadbot), "socket")
        await look("all closed", await visitors.close(), "left")
        # Freed memory stays with the process (CPython's allocator); connecting again shows
        # whether it is reused (near 0 KiB each) or leaked (as much again).
        await look(f"{n:,} connected again", await visitors.hold(n, resume=leadbot), "again")
        await look("all closed again", await visitors.close(), "left")
    return steps


def report(n: int, steps: list[Step]) -> None:
    rows: list[list[object]] = []
    per: dict[tuple[str, str], float] = {}
    for i, step in enumerate(steps):
        first = next(s for s in steps if s.server == step.server)
        before = steps[i - 1] if step.per in ("conversation", "socket", "again") else first
        kib = (step.rss_kib - before.rss_kib) / n if step.per else None
        if step.per and kib is not None:
            per[(step.server, step.per)] = kib
        rows.append(
            [
                step.server,
                step.name,
                step.rss_kib / 1024,
                (step.rss_kib - first.rss_kib) / 1024,
                "-" if kib is None else f"{kib:.1f} ({step.per})",
                step.fds,
                "-" if step.seconds is None else f"{step.seconds:.1f}",
            ]
        )
    print(f"\n{n:,} idle widget connections (RSS read after each step has settled)")
    print(table(["server", "step", "RSS MiB", "Δ MiB", "KiB each", "fds", "took s"], rows))
    floor = per.get(("echo", "socket"))
    for server in dict.fromkeys(step.server for step in steps if step.server.startswith("leadbot")):
        socket, conversation = per.get((server, "socket")), per.get((server, "conversation"))
        if floor and socket is not None and conversation is not None:
            whole = socket + conversation
            print(f"{server}/echo per socket: {socket:.1f} / {floor:.1f} KiB = {socket / floor:.1f}x")
            print(
                f"{server}/echo per visitor (conversation + socket): {whole:.1f} / {floor:.1f} KiB"
                f" = {whole / floor:.1f}x"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait before each RSS reading")
    parser.add_argument("--quick", action="store_true", help="smoke test: 1,000 connections")
    parser.add_argument(
        "--before",
        action="store_true",
        help="first measure leadbot with the embedded store as before issue 7 (bench/as_before.py)",
    )
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "leadbot-bench-sockets.log")
    args = parser.parse_args()
    if args.quick:
        args.connections, args.settle = 1_000, 1.0
    stop_on_sigterm()
    limit = raise_fd_limit(args.connections + 1_000)
    if limit < args.connections + 100:
        raise SystemExit(f"open-file limit is {limit}; {args.connections} connections need more")
    print(f"open-file limit {limit} (servers inherit it); server logs: {args.log}")

    steps: list[Step] = []
    async with echo_server(args.log) as (process, base):
        steps += await measure("echo", process, f"{base}/ws/echo", args.connections, args.settle)
    servers = [("leadbot before", AS_BEFORE)] if args.before else []
    servers.append(("leadbot", AS_SHIPPED))
    for name, launcher in servers:
        with tempfile.TemporaryDirectory(prefix="leadbot-bench-") as tmp:
            async with leadbot_server(Path(tmp), log=args.log, launcher=launcher) as (process, base):
                steps += await measure(name, process, f"{base}/ws/chat", args.connections, args.settle)
    report(args.connections, steps)
    print(f"\n{machine_note()}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--echo-server":
        web.run_app(echo_app(), host="127.0.0.1", port=int(sys.argv[2]), print=None)
    else:
        asyncio.run(main())
