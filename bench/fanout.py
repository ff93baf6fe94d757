"""Inbox fan-out: publish-to-render latency from a visitor on one process to agent inbox sockets on three.

Needs the Redis event bridge (bot/bus_bridge.py, on when LEADBOT_REDIS_URL is set; in since
commit 5748791 "Cross-process building blocks"). Without it, sockets on B and C never get the
frame: they are counted as missing (after 10 s each), not waited for forever.

Setup, all on 127.0.0.1: a MongoDB wire-protocol stand-in (`python -m tests.support.mongo_wire`,
shared by every process as MONGODB_URI), a `redis-server` of its own (LEADBOT_REDIS_URL) and three
`leadbot serve` processes A, B and C. Agents are added with `leadbot users add` (role admin, so
each may open any conversation) and sign in through `/login` as tests/support/inbox.py does;
each agent then holds several inbox sockets (`/ws/inbox`, one per inbox tab), and every socket
opens the same conversation (`{"type": "open", ...}`).

The visitor first asks for a person (the bot hands off and stays silent), then sends messages
one at a time, each after the previous one's ack and fan-out. Latency is from just before the
widget socket sends a message to its `message` frame arriving on each agent socket (the message
is stored, the bus publishes it, the bridge carries it through Redis, each process's inbox
writers render it).
Measured twice in one run: all sockets on A (no Redis hop: the floor for this fan-out on one
process) and the same number spread over A, B and C.

    python bench/fanout.py                       # 1,000 inbox sockets: 20 agents x 50 tabs
    python bench/fanout.py --quick               # 90 sockets, 5 messages, < 60 s
    python bench/fanout.py --sockets 300 --agents 10 --messages 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    clean_env,
    free_port,
    leadbot_server,
    machine_note,
    percentile,
    progress,
    raise_fd_limit,
    stop,
    stop_on_sigterm,
    table,
)

PASSWORD = "correct horse battery staple 42"
TOKEN_FIELD = re.compile(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"')
PROCESSES = ("A", "B", "C")
ARRIVAL_TIMEOUT = 10.0  # a frame later than this counts as missing


# -- what the three processes share ------------------------------------------------------------


@contextlib.asynccontextmanager
async def redis_server(log: Path) -> AsyncIterator[str]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server not found (apt-get install redis-server)")
    port = free_port()
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=out,
            stderr=out,
        )
        try:
            async with asyncio.timeout(20):
                while True:
                    with contextlib.suppress(OSError):
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                        writer.write(b"PING\r\n")
                        pong = await reader.readline()
                        writer.close()
                        if pong.startswith(b"+PONG"):
                            break
                    await asyncio.sleep(0.1)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            await stop(process)


@contextlib.asynccontextmanager
async def mongo_wire(log: Path) -> AsyncIterator[str]:
    """tests/support/mongo_wire.py as its own process; yields its URI."""
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.mongo_wire",
            cwd=ROOT,
            env=clean_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
        try:
            assert process.stdout is not None
            async with asyncio.timeout(60):
                line = (await process.stdout.readline()).decode().strip()
            if not line.startswith("READY "):
                raise RuntimeError(f"mongo_wire did not start: {line!r}")
            yield line.removeprefix("READY ")
        finally:
            await stop(process)


async def add_agents(env: dict[str, str], count: int) -> list[str]:
    """`leadbot users add` for each agent (role admin: may open any conversation)."""
    emails = [f"agent{i}@bench.example.com" for i in range(count)]
    gate = asyncio.Semaphore(4)

    async def add(email: str) -> None:
        async with gate:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "users",
                "add",
                email,
                "--role",
                "admin",
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await process.communicate(f"{PASSWORD}\n".encode())
            if process.returncode != 0:
                raise RuntimeError(f"leadbot users add {email}: {out.decode()}")

    await asyncio.gather(*(add(email) for email in emails))
    return emails


# -- agents and their inbox sockets ------------------------------------------------------------


@dataclass
class Awaited:
    """The visitor message every tab is waiting for; `done` is set once all have it."""

    text: str = ""
    pending: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, text: str, tabs: int) -> None:
        self.text, self.pending = text, tabs
        self.done.clear()

    def arrived(self, text: str) -> None:
        if text == self.text:
            self.pending -= 1
            if self.pending == 0:
                self.done.set()


@dataclass
class InboxTab:
    """One inbox socket with the conversation open; records when each visitor message arrives."""

    process: str
    ws: aiohttp.ClientWebSocketResponse
    awaited: Awaited
    arrived: dict[str, float] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            data: dict[str, Any] = frame.json()
            if data.get("type") == "conversation":
                self.ready.set()
            elif data.get("type") == "message" and data.get("from") == "visitor":
                text = data.get("text", "")
                if text not in self.arrived:
                    self.arrived[text] = time.perf_counter()
                    self.awaited.arrived(text)


async def sign_in(http: aiohttp.ClientSession, base: str, email: str) -> None:
    async with http.get(f"{base}/login") as response:
        page = await response.text()
    found = TOKEN_FIELD.search(page)
    if found is None:
        raise RuntimeError(f"no sign-in form at {base}/login")
    form = {"email": email, "password": PASSWORD, "csrf_token": found.group(1), "next": "/inbox"}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as response:
        if response.status != 303:
            raise RuntimeError(f"sign-in as {email}: {response.status} {await response.text()}")


async def open_tabs(
    agents: list[aiohttp.ClientSession],
    bases: dict[str, str],
    spread: tuple[str, ...],
    n: int,
    conv: str,
    awaited: Awaited,
) -> list[InboxTab]:
    gate = asyncio.Semaphore(32)

    async def one(i: int) -> InboxTab:
        process = spread[i % len(spread)]
        async with gate:
            ws = await agents[i % len(agents)].ws_connect(f"{bases[process]}/ws/inbox")
            tab = InboxTab(process, ws, awaited)
            tab.reader = asyncio.create_task(tab.read())
            await ws.send_json({"type": "open", "conversation_id": conv})
            async with asyncio.timeout(60):
                await tab.ready.wait()
            return tab

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def close_tabs(tabs: list[InboxTab]) -> None:
    await asyncio.gather(*(tab.ws.close() for tab in tabs))
    await asyncio.gather(*(tab.reader for tab in tabs if tab.reader), return_exceptions=True)


@dataclass
class Phase:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=dict)  # by process
    missing: dict[str, int] = field(default_factory=dict)


async def acked(visitor: aiohttp.ClientWebSocketResponse, client_id: str) -> None:
    """Until the widget socket acknowledges the message (other frames are skipped)."""
    async with asyncio.timeout(30):
        while True:
            frame = await visitor.receive_json()
            if frame.get("type") == "ack" and frame.get("id") == client_id:
                return


async def publish(
    visitor: aiohttp.ClientWebSocketResponse,
    tabs: list[InboxTab],
    awaited: Awaited,
    phase: Phase,
    messages: int,
) -> None:
    for i in range(messages):
        text = f"{phase.name}: visitor message {i}"
        awaited.expect(text, len(tabs))
        started = time.perf_counter()
        await visitor.send_json({"type": "message", "id": f"{phase.name}-{i}", "text": text})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ARRIVAL_TIMEOUT):
                await awaited.done.wait()
        for tab in tabs:
            if text in tab.arrived:
                phase.latencies.setdefault(tab.process, []).append(tab.arrived[text] - started)
            else:
                phase.missing[tab.process] = phase.missing.get(tab.process, 0) + 1
        await acked(visitor, f"{phase.name}-{i}")
        await asyncio.sleep(0.2)


def report(phases: list[Phase], sockets: int, agents: int) -> None:
    rows: list[list[object]] = []
    for phase in phases:
        everything = [x for values in phase.latencies.values() for x in values]
        for process in sorted(set(phase.latencies) | set(phase.missing)):
            values = phase.latencies.get(process, [])
            rows.append(
                [
                    phase.name,
                    process,
                    len(values),
                    percentile(values, 50) * 1000,
                    percentile(values, 99) * 1000,
                    max(values, default=float("nan")) * 1000,
                    phase.missing.get(process, 0),
                ]
            )
        rows.append(
            [
                phase.name,
                "all",
                len(everything),
                percentile(everything, 50) * 1000,
                percentile(everything, 99) * 1000,
                max(everything, default=float("nan")) * 1000,
                sum(phase.missing.values()),
            ]
        )
    print(f"\n{sockets:,} inbox sockets ({agents} agents), visitor on A; publish-to-render latency")
    print(table(["sockets on", "process", "frames", "p50 ms", "p99 ms", "max ms", "missing"], rows))
    if len(phases) == 2:
        one = [x for v in phases[0].latencies.values() for x in v]
        three = [x for v in phases[1].latencies.values() for x in v]
        if one and three:
            p50 = percentile(three, 50) / percentile(one, 50)
            p99 = percentile(three, 99) / percentile(one, 99)
            print(f"3 processes / 1 process: p50 {p50:.2f}   p99 {p99:.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=1_000, help="inbox sockets in all")
    parser.add_argument("--agents", type=int, default=20, help="agents signed in (sockets are their tabs)")
    parser.add_argument("--messages", type=int, default=20, help="visitor messages per phase")
    parser.add_argument("--quick", action="store_true", help="smoke test: 90 sockets, 6 agents, 5 messages")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "leadbot-bench-fanout.log")
    args = parser.parse_args()
    if args.quick:
        args.sockets, args.agents, args.messages = 90, 6, 5
    raise_fd_limit(args.sockets * 2 + 1_000)
    stop_on_sigterm()
    print(f"server logs: {args.log}")

    async with mongo_wire(args.log) as uri, redis_server(args.log) as redis_url:
        shared = {"MONGODB_URI": uri, "LEADBOT_REDIS_URL": redis_url}
        progress(f"store stand-in at {uri}, redis at {redis_url}; adding {args.agents} agents")
        emails = await add_agents(clean_env(**shared), args.agents)
        async with contextlib.AsyncExitStack() as stack:
            bases: dict[str, str] = {}
            for name in PROCESSES:
                data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="leadbot-bench-")))
                _, bases[name] = await stack.enter_async_context(leadbot_server(data, shared, log=args.log))
            progress(f"processes up: {bases}; signing in")
            agents = []
            for email in emails:
                http = await stack.enter_async_context(
                    aiohttp.ClientSession(
                        cookie_jar=aiohttp.CookieJar(unsafe=True), connector=aiohttp.TCPConnector(limit=0)
                    )
                )
                await sign_in(http, bases["A"], email)  # sessions live in the shared store
                agents.append(http)
            visitor_http = await stack.enter_async_context(aiohttp.ClientSession())
            visitor = await visitor_http.ws_connect(f"{bases['A']}/ws/chat")
            hello = await visitor.receive_json()
            while (await visitor.receive_json()).get("type") != "message":  # the greeting
                pass
            # A person takes over: the bot stays silent, each visitor message is only fan-out.
            await visitor.send_json(
                {"type": "message", "id": "handoff", "text": "I'd like to talk to a person"}
            )
            async with asyncio.timeout(30):
                while (await visitor.receive_json()).get("from") != "bot":
                    pass

            phases = []
            for name, spread in (("A only", ("A",)), ("A, B, C", PROCESSES)):
                awaited = Awaited()
                conv = hello["conversation_id"]
                progress(f"{name}: opening {args.sockets} inbox sockets")
                tabs = await open_tabs(agents, bases, spread, args.sockets, conv, awaited)
                progress(f"{name}: {len(tabs)} open; {args.messages} visitor messages")
                phase = Phase(name)
                await publish(visitor, tabs, awaited, phase, args.messages)
                await close_tabs(tabs)
                phases.append(phase)
            await visitor.close()
    report(phases, args.sockets, args.agents)
    print(f"\n{machine_note()}")


if __name__ == "__main__":
    asyncio.run(main())
