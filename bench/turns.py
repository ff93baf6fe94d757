"""Turn throughput: N concurrent visitors qualify over websockets against one server process.

Prints turns/s and p50/p99 reply latency for the server, and, measured in the same run,
the bare `ainvoke` rate of the same compiled qualification graph with the same answers,
with the ratio (server / bare graph). The server runs as its own process (`leadbot serve`
on the embedded store), so the clients here do not share its event loop.

    python bench/turns.py --visitors 50 --conversations 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

import aiohttp
from common import ANSWERS, ROOT, default_flow, free_port, wait_http  # bench/common.py

from bot.qualifier.graph import Qualifier


async def one_conversation(http: aiohttp.ClientSession, base: str, n: int, latencies: list[float]) -> int:
    turns = 0
    async with http.ws_connect(f"{base}/ws/chat") as ws:
        while (await ws.receive_json())["type"] != "message":  # hello, then the greeting
            pass
        for i, answer in enumerate(ANSWERS):
            started = time.perf_counter()
            await ws.send_json({"type": "message", "id": f"{n}-{i}", "text": answer.format(n=n)})
            while True:
                frame = await ws.receive_json()
                if frame["type"] == "message" and frame["from"] == "bot":
                    break
            latencies.append(time.perf_counter() - started)
            turns += 1
    return turns


async def drive_server(visitors: int, conversations: int) -> tuple[float, list[float]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="leadbot-bench-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LEADBOT_", "MONGODB_"))},
            "LEADBOT_PORT": str(port),
            "LEADBOT_DATA_DIR": tmp,
        }
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                await wait_http(f"{base}/readyz", process=server)
                await one_conversation(http, base, conversations, [])  # warm up (its own number)
                latencies: list[float] = []
                queue = list(range(conversations))

                async def visitor() -> int:
                    done = 0
                    while queue:
                        done += await one_conversation(http, base, queue.pop(), latencies)
                    return done

                started = time.perf_counter()
                turns = sum(await asyncio.gather(*(visitor() for _ in range(visitors))))
                elapsed = time.perf_counter() - started
                return turns / elapsed, latencies
        finally:
            server.terminate()
            async with asyncio.timeout(30):
                await server.wait()


async def drive_graph(visitors: int, conversations: int) -> float:
    flow = default_flow()  # what the server seeds its store with
    qualifier = Qualifier()
    queue = list(range(conversations))

    async def visitor() -> int:
        turns = 0
        while queue:
            n = queue.pop()
            slots: dict[str, object] = {}
            details: dict[str, object] = {}
            skipped: list[str] = []
            _, _, memory = qualifier.opening(flow, slots=slots, skipped=skipped)
            for answer in ANSWERS:
                turn = await qualifier.turn(
                    flow,
                    text=answer.format(n=n),
                    memory=memory,
                    slots=slots,
                    details=details,
                    skipped=skipped,
                )
                memory, slots, details, skipped = turn.memory, turn.slots, turn.details, turn.skipped
                turns += 1
        return turns

    started = time.perf_counter()
    turns = sum(await asyncio.gather(*(visitor() for _ in range(visitors))))
    return turns / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visitors", type=int, default=50, help="concurrent visitors")
    parser.add_argument("--conversations", type=int, default=200, help="conversations in all")
    args = parser.parse_args()

    server_rate, latencies = await drive_server(args.visitors, args.conversations)
    graph_rate = await drive_graph(args.visitors, args.conversations)
    print(f"visitors={args.visitors} conversations={args.conversations} turns={len(latencies)}")
    print(
        f"server:     {server_rate:8.1f} turns/s   p50 {percentile(latencies, 50) * 1000:7.1f} ms"
        f"   p99 {percentile(latencies, 99) * 1000:7.1f} ms"
    )
    print(f"bare graph: {graph_rate:8.1f} turns/s   (same compiled graph, ainvoke, no I/O)")
    print(f"ratio server/bare graph: {server_rate / graph_rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
