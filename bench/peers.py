"""Turns, leadbot next to a peer: the same default-flow graph hosted three ways, in one run.

1. **ceiling** — this process calls `Qualifier.turn` (the compiled graph's `ainvoke`) directly:
   no sockets, no store, no server. The most any host can do with this graph here.
2. **leadbot** — one `leadbot serve` process on the embedded store; each visitor opens the
   widget socket (`/ws/chat`), waits for the greeting and sends the scripted answers. A turn is
   from sending a visitor message to receiving the bot's reply frame (message stored, ack, graph,
   turn stored, fan-out).
3. **langgraph dev** — LangGraph's own Agent Server (`langgraph dev`, in-memory runtime) hosting
   the same nodes and edges (bench/agent_server/). Each conversation is a thread; each turn is
   `POST /threads/{id}/runs/wait` with the visitor's text, answered with the thread's new state
   (the graph's state kept by its checkpointer, as leadbot keeps it in its store).

Every host gets the same number of concurrent simulated visitors, each holding the same 9-answer
conversation (`bench/common.py`), closed loop. Before measuring, one conversation is held on
every host and the bot's replies are compared word for word, so all three run the same flow.
Prints turns/s, p50/p99 turn latency and server CPU per turn, then the ratios.

Needs `langgraph-cli[inmem]` (docs/performance.md says how to install it apart from leadbot's
environment). Offline: the CLI's analytics, the server's version check (pypi.org) and LangSmith
tracing are switched off, the browser is not opened.

    python bench/peers.py                       # 20 and 50 visitors, 100 conversations each
    python bench/peers.py --quick               # smoke test, < 60 s
    python bench/peers.py --langgraph /tmp/lgdev/bin/langgraph
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ANSWERS,
    ROOT,
    Run,
    clean_env,
    cpu_seconds,
    default_flow,
    free_port,
    leadbot_server,
    machine_note,
    progress,
    stop,
    stop_on_sigterm,
    table,
    wait_http,
)

from bot.qualifier.graph import Qualifier

AGENT_SERVER_CONFIG = ROOT / "bench" / "agent_server" / "langgraph.json"
CHECK_CONVERSATION = 9_999  # the conversation every host holds first, to compare replies

# One conversation: records each turn's latency into the list, returns the bot's replies.
Conversation = Callable[[int, list[float]], Awaitable[list[str]]]


@dataclass
class Result:
    run: Run
    cpu_per_turn_ms: float | None  # server CPU (user + system) per turn; None in-process


async def closed_loop(label: str, visitors: int, conversations: int, converse: Conversation) -> Run:
    """`visitors` at once, each holding conversations one after another until all are done."""
    queue = list(range(conversations))
    latencies: list[float] = []

    async def visitor() -> None:
        while queue:
            await converse(queue.pop(), latencies)

    started = time.perf_counter()
    await asyncio.gather(*(visitor() for _ in range(visitors)))
    return Run(label, latencies, time.perf_counter() - started)


# -- the ceiling: the graph in this process ---------------------------------------------------


async def ceiling(visitors: int, conversations: int) -> tuple[Result, list[str]]:
    flow = default_flow()
    qualifier = Qualifier()

    async def converse(n: int, latencies: list[float]) -> list[str]:
        slots: dict[str, Any] = {}
        details: dict[str, Any] = {}
        skipped: list[str] = []
        _, _, memory = qualifier.opening(flow, slots=slots, skipped=skipped)
        replies = []
        for answer in ANSWERS:
            started = time.perf_counter()
            turn = await qualifier.turn(
                flow, text=answer.format(n=n), memory=memory, slots=slots, details=details, skipped=skipped
            )
            latencies.append(time.perf_counter() - started)
            memory, slots, details, skipped = turn.memory, turn.slots, turn.details, turn.skipped
            replies.append(turn.reply or "")
        return replies

    replies = await converse(CHECK_CONVERSATION, [])
    return Result(await closed_loop("ceiling (ainvoke)", visitors, conversations, converse), None), replies


# -- leadbot: `leadbot serve`, widget sockets -------------------------------------------------


async def leadbot(visitors: int, conversations: int) -> tuple[Result, list[str]]:
    with tempfile.TemporaryDirectory(prefix="leadbot-bench-") as tmp:
        async with (
            leadbot_server(Path(tmp)) as (process, base),
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
        ):

            async def converse(n: int, latencies: list[float]) -> list[str]:
                replies = []
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
                        replies.append(frame["text"])
                return replies

            replies = await converse(CHECK_CONVERSATION, [])
            cpu = cpu_seconds(process.pid)
            run = await closed_loop("leadbot", visitors, conversations, converse)
            cpu = cpu_seconds(process.pid) - cpu
    return Result(run, cpu / len(run.latencies) * 1000), replies


# -- LangGraph's Agent Server: `langgraph dev` ------------------------------------------------


def find_langgraph(given: str | None) -> str | None:
    if given:
        return given
    beside = Path(sys.executable).parent / "langgraph"
    return str(beside) if beside.exists() else shutil.which("langgraph")


def absolute_config(source: Path, target: Path) -> Path:
    """A copy of the langgraph.json at `source` with its relative paths made absolute."""
    config = json.loads(source.read_text())
    here = source.parent

    def absolute(spec: str) -> str:
        path, _, variable = spec.partition(":")
        return f"{(here / path).resolve()}:{variable}" if variable else str((here / path).resolve())

    config["dependencies"] = [absolute(d) for d in config.get("dependencies", [])]
    config["graphs"] = {name: absolute(spec) for name, spec in config["graphs"].items()}
    target.write_text(json.dumps(config))
    return target


async def agent_server(
    executable: str, visitors: int, conversations: int, log: Path
) -> tuple[Result, list[str]]:
    flow = default_flow()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="leadbot-bench-lg-") as tmp, log.open("ab") as out:
        # It resolves the graph's path from its working directory, which also gets the runtime's
        # periodic dump (.langgraph_api/): a temporary directory, with the paths made absolute.
        config = absolute_config(AGENT_SERVER_CONFIG, Path(tmp) / "langgraph.json")
        process = await asyncio.create_subprocess_exec(
            executable,
            "dev",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-browser",
            "--no-reload",
            "--n-jobs-per-worker",
            str(visitors),  # its default is 1 run at a time; leadbot has no such limit
            "--server-log-level",
            "WARNING",
            cwd=tmp,
            env=clean_env(
                LANGGRAPH_CLI_NO_ANALYTICS="1",  # the CLI's usage report
                LANGGRAPH_NO_VERSION_CHECK="true",  # the server asks pypi.org for newer versions
                LANGSMITH_TRACING="false",
                LANGCHAIN_TRACING_V2="false",
                LANGSMITH_API_KEY="",
                LOG_LEVEL="WARNING",
            ),
            stdout=out,
            stderr=out,
        )
        try:
            await wait_http(f"{base}/ok", seconds=120, process=process)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

                async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                    async with http.post(f"{base}{path}", json=body) as response:
                        payload: dict[str, Any] = await response.json()
                        if response.status != 200 or "__error__" in payload:
                            raise RuntimeError(f"langgraph dev {path}: {response.status} {payload}")
                        return payload

                async def converse(n: int, latencies: list[float]) -> list[str]:
                    thread = (await post("/threads", {}))["thread_id"]
                    slots: dict[str, Any] = {}
                    skipped: list[str] = []
                    _, _, memory = Qualifier.opening(flow, slots=slots, skipped=skipped)
                    # The first run carries the new conversation's state, later runs only the text.
                    first: dict[str, Any] = {"memory": memory, "slots": slots, "details": {}, "skipped": []}
                    replies = []
                    for i, answer in enumerate(ANSWERS):
                        body = {
                            "assistant_id": "qualifier",
                            "input": {**(first if i == 0 else {}), "text": answer.format(n=n)},
                            "context": {"flow_id": flow.id},
                        }
                        started = time.perf_counter()
                        state = await post(f"/threads/{thread}/runs/wait", body)
                        latencies.append(time.perf_counter() - started)
                        replies.append(state.get("reply") or "")
                    return replies

                replies = await converse(CHECK_CONVERSATION, [])
                cpu = cpu_seconds(process.pid)
                run = await closed_loop("langgraph dev", visitors, conversations, converse)
                cpu = cpu_seconds(process.pid) - cpu
        finally:
            await stop(process)
    return Result(run, cpu / len(run.latencies) * 1000), replies


# -- the report -------------------------------------------------------------------------------


def report(visitors: int, conversations: int, results: list[Result]) -> None:
    rows: list[list[object]] = []
    for r in results:
        cpu = "-" if r.cpu_per_turn_ms is None else f"{r.cpu_per_turn_ms:.2f}"
        rows.append([r.run.label, len(r.run.latencies), r.run.rate, r.run.p50_ms, r.run.p99_ms, cpu])
    print(f"\nvisitors={visitors} conversations={conversations} (x {len(ANSWERS)} turns)")
    print(table(["host", "turns", "turns/s", "p50 ms", "p99 ms", "server CPU ms/turn"], rows))
    rates = {r.run.label: r.run.rate for r in results}
    pairs = [
        ("leadbot", "ceiling (ainvoke)"),
        ("langgraph dev", "ceiling (ainvoke)"),
        ("leadbot", "langgraph dev"),
    ]
    ratios = [f"{a}/{b.split()[0]} {rates[a] / rates[b]:.2f}" for a, b in pairs if a in rates and b in rates]
    print("throughput ratios: " + "   ".join(ratios))
    by_label = {r.run.label: r for r in results}
    if "leadbot" in by_label and "langgraph dev" in by_label:
        lead, peer = by_label["leadbot"].run, by_label["langgraph dev"].run
        p50, p99 = lead.p50_ms / peer.p50_ms, lead.p99_ms / peer.p99_ms
        print(f"latency ratios leadbot/langgraph dev: p50 {p50:.2f}   p99 {p99:.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--visitors", type=int, nargs="+", default=[20, 50], help="concurrent visitors (one run each)"
    )
    parser.add_argument("--conversations", type=int, default=100, help="conversations per host and run")
    parser.add_argument(
        "--langgraph", help="the `langgraph` command (default: beside this Python, or on PATH)"
    )
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "leadbot-bench-peers.log")
    parser.add_argument("--quick", action="store_true", help="smoke test: 10 visitors, 20 conversations")
    args = parser.parse_args()
    if args.quick:
        args.visitors, args.conversations = [10], 20

    stop_on_sigterm()
    executable = find_langgraph(args.langgraph)
    if executable is None:
        print(
            "langgraph dev: not found (pip install 'langgraph-cli[inmem]', see docs/performance.md); skipped"
        )
    print(f"server logs: {args.log}")
    for visitors in args.visitors:
        results: list[Result] = []
        replies: dict[str, list[str]] = {}
        progress(f"{visitors} visitors: ceiling")
        result, replies["ceiling"] = await ceiling(visitors, args.conversations)
        results.append(result)
        progress(f"{visitors} visitors: leadbot")
        result, replies["leadbot"] = await leadbot(visitors, args.conversations)
        results.append(result)
        if executable is not None:
            progress(f"{visitors} visitors: langgraph dev")
            result, replies["langgraph dev"] = await agent_server(
                executable, visitors, args.conversations, args.log
            )
            results.append(result)
        for host, said in replies.items():
            if said != replies["ceiling"]:
                print(f"WARNING: {host} answered differently from the graph itself:")
                for ours, theirs in zip(replies["ceiling"], said, strict=False):
                    if ours != theirs:
                        print(f"  graph:  {ours!r}\n  {host}: {theirs!r}")
        report(visitors, args.conversations, results)
    print(f"\n{machine_note()}")


if __name__ == "__main__":
    asyncio.run(main())
