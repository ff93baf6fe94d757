"""Several real `leadbot serve` processes on one database and one Redis, for fault tests.

The database is the MongoDB wire-protocol stand-in in a process of its own
(`python -m tests.support.mongo_wire`), so every leadbot process talks to it through the real
motor driver over TCP, as they would to a MongoDB server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent.parent
API_TOKEN = "cluster-api-token"
START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBOT_", "MONGODB_"))}
    return {**env, **extra}


async def start_database() -> tuple[asyncio.subprocess.Process, str]:
    """The wire stand-in as its own process; returns it and its mongodb:// URI."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.mongo_wire", cwd=ROOT, env=_env(), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    async with asyncio.timeout(START_SECONDS):
        line = (await proc.stdout.readline()).decode().strip()
    assert line.startswith("READY "), line
    return proc, line.removeprefix("READY ")


@dataclass
class Server:
    """One `leadbot serve`; `kill()` is SIGKILL, `start()` brings it back on the same port."""

    port: int
    env: dict[str, str]
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            cwd=ROOT,
            env={**self.env, "LEADBOT_PORT": str(self.port)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.starts += 1
        await self.wait_ready()

    async def wait_ready(self) -> None:
        async with aiohttp.ClientSession() as http, asyncio.timeout(START_SECONDS):
            while True:  # polling a process we just started, under a deadline
                assert self.proc is not None and self.proc.returncode is None, "leadbot serve exited"
                try:
                    async with http.get(f"{self.url}/readyz") as ready:
                        if ready.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(30):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@dataclass
class Cluster:
    servers: list[Server] = field(default_factory=list)

    @classmethod
    async def start(cls, count: int, data_root: Path, **env: str) -> Cluster:
        cluster = cls()
        for n in range(count):
            server_env = _env(
                LEADBOT_DATA_DIR=str(data_root / f"p{n}"),
                LEADBOT_API_TOKEN=API_TOKEN,
                LEADBOT_SHUTDOWN_DRAIN_SECONDS="0",
                **env,
            )
            cluster.servers.append(Server(free_port(), server_env))
        await asyncio.gather(*(server.start() for server in cluster.servers))
        return cluster

    async def stop(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers))
