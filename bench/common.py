"""What the bench scripts share: the scripted conversation, ports, server processes, RSS, stats.

Not a benchmark itself. The scripts put the project root and `bench/` on `sys.path`, so
`python bench/<script>.py` works from anywhere without installing anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.assets import flows_dir  # noqa: E402
from bot.flows import Flow, load_flows  # noqa: E402

# One scripted conversation on the default flow: 9 visitor messages, ending in a qualified
# hand-off. `{n}` makes the email and phone unique per conversation (leads never merge).
ANSWERS = [
    "We need to automate lead follow-ups",
    "Sure! It's Stark Industries",
    "about fifty",
    "ten grand a month",
    "ASAP",
    "I'm the CTO, it's my call",
    "my name is Tony Stark",
    "tony{n}@stark.com",
    "(415) 555-{n:04d}",
]


# `leadbot serve` as shipped, and with the embedded store as it was before issue 7 (bench/as_before.py).
AS_SHIPPED: tuple[str, ...] = ("-m", "bot")
AS_BEFORE: tuple[str, ...] = (str(ROOT / "bench" / "as_before.py"),)


def default_flow() -> Flow:
    """The shipped default flow, as the server seeds its store with it."""
    directory = flows_dir()
    return load_flows(list(directory.glob("*.yaml")) + list(directory.glob("*.yml")))["default"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit to `wanted` (as far as the hard limit allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB (from /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The bench is one client address doing the work of thousands of visitors: no rate limits.
NO_RATE_LIMITS = {
    "LEADBOT_LIMIT_NEW_CONVERSATIONS": "0",
    "LEADBOT_LIMIT_MESSAGES": "0",
    "LEADBOT_LIMIT_LOGINS": "0",
}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without leadbot/MongoDB/Twilio settings, plus `extra`."""
    prefixes = ("LEADBOT_", "MONGODB_", "TWILIO_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **extra}


async def wait_http(
    url: str, seconds: float = 60.0, process: asyncio.subprocess.Process | None = None
) -> None:
    """Until `url` answers 200 (the process dying first is an error)."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(seconds):
        while True:
            if process is not None and process.returncode is not None:
                raise RuntimeError(f"{url}: the server exited with {process.returncode} before it was ready")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


async def stop(process: asyncio.subprocess.Process, seconds: float = 30.0) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(seconds):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def leadbot_server(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    launcher: Sequence[str] = AS_SHIPPED,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`leadbot serve` as its own process on a free port: yields (process, base URL) once ready.

    `launcher`: what runs the CLI under this Python (a script taking the same arguments works too).
    """
    port = free_port()
    out = log.open("ab") if log is not None else None
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *launcher,
        "serve",
        "--port",
        str(port),
        cwd=ROOT,
        env=clean_env(LEADBOT_DATA_DIR=str(data_dir), **NO_RATE_LIMITS, **(env or {})),
        stdout=out or asyncio.subprocess.DEVNULL,
        stderr=out or asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http(f"{base}/readyz", process=process)
        yield process, base
    finally:
        await stop(process)
        if out is not None:
            out.close()


def stop_on_sigterm() -> None:
    """SIGTERM cancels the running main task like Ctrl-C does, so servers started are stopped."""
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


def progress(text: str) -> None:
    """A step of a long run, on stderr (the results go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (inclusive method); the only value when there is one."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Run:
    """Latencies (seconds) of one measured run and its wall time."""

    label: str
    latencies: list[float]
    elapsed: float
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else float("nan")

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def machine_note() -> str:
    """Cores, Python and the load average when the run ended (other work on the machine shows)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {load}"
