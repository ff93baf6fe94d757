"""Webhooks: how fast one `leadbot serve` process acknowledges inbound Twilio SMS as the rate grows.

Each request is what Twilio sends for an inbound SMS (`POST /channels/twilio/sms`, a form signed
with `X-Twilio-Signature` over the public URL, computed with the twilio SDK's own
`RequestValidator.compute_signature`, as tests/support/fake_twilio.py does). Every request has
its own MessageSid and its own phone number, so each one is a real insert: a new lead, a new
conversation, the message stored once per MessageSid, then empty TwiML. The bot's turn and its
reply run after the ack (a background job), and the reply goes through the twilio SDK to a local
stand-in for Twilio's REST API (tests/support/fake_twilio.py's app, in its own process), so no
network is used.

Requests are paced open loop (request i is due at start + i/rate, whether or not earlier ones
were answered) and latency is counted from when a request was due, so a server falling behind
shows as latency, not as a lower offered rate. After each rate, the bench waits until every
webhook has led to one reply at the stand-in (or replies stop coming: a send that timed out is
not retried) before the next rate starts. A server that answered under 90 % of the offered rate
is saturated: its higher rates are skipped (`--keep-going` runs them anyway).

The baseline, measured the same way in the same run, is a hello-world aiohttp handler in its own
process that parses the form and answers the same empty TwiML: no signature check, no store.

    python bench/webhooks.py                          # 50, 100, 200, 400 req/s, 10 s each
    python bench/webhooks.py --quick                  # 50 and 200 req/s, 3 s each, < 60 s
    python bench/webhooks.py --rates 100 300 --seconds 20
    python bench/webhooks.py --before                 # first as before issue 7 (bench/as_before.py)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    AS_BEFORE,
    AS_SHIPPED,
    ROOT,
    Run,
    clean_env,
    cpu_seconds,
    free_port,
    leadbot_server,
    machine_note,
    progress,
    raise_fd_limit,
    stop,
    stop_on_sigterm,
    table,
    wait_http,
)

from tests.support.fake_twilio import (
    ACCOUNT_SID,
    EMPTY_TWIML,
    PUBLIC_URL,
    SMS_FROM,
    FakeTwilio,
    sign,
    twilio_env,
)

SMS_PATH = "/channels/twilio/sms"
FORM = "application/x-www-form-urlencoded"
STALLED = 20.0  # no new reply for this long: the rest failed (the REST client gives up after 15 s)


# -- the stand-ins (each run as its own process: `webhooks.py --serve twilio|hello PORT`) -----


def twilio_app() -> web.Application:
    """Twilio's REST API as tests/support/fake_twilio.py plays it, plus a count of what was sent."""
    fake = FakeTwilio()
    app = fake.app()

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"sent": len(fake.sent)})

    app.router.add_get("/bench/sent", count)
    return app


def hello_app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=EMPTY_TWIML, content_type="text/xml", charset="utf-8")

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post(SMS_PATH, hello)
    app.router.add_get("/ok", ok)
    return app


@contextlib.asynccontextmanager
async def stand_in(kind: str, log: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = free_port()
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", kind, str(port), env=clean_env(), stdout=out, stderr=out
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_http(f"{base}/bench/sent" if kind == "twilio" else f"{base}/ok", process=process)
            yield process, base
        finally:
            await stop(process)


# -- the requests ------------------------------------------------------------------------------

_numbers = itertools.count(2_000_000)  # +1 415 2000000, +1 415 2000001 … one per lead


def inbound_sms(sequence: int) -> tuple[bytes, str]:
    """A new lead's first SMS, form-encoded, and its signature (computed ahead of the clock)."""
    sid = f"SM{sequence:032x}"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"+1415{next(_numbers):07d}",
        "To": SMS_FROM,
        "Body": "Hi, we need to automate lead follow-ups",
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    return urlencode(params).encode(), sign(PUBLIC_URL + SMS_PATH, params)


@dataclass
class Result:
    server: str
    rate: int
    run: Run
    achieved: float  # answered requests per second, first due to last answered
    cpu_ms: float  # server CPU per request (the bot's turns after the ack included, for leadbot)
    replies: int | None  # replies the Twilio stand-in received for this rate's webhooks
    drain: float | None  # seconds from the last ack until every reply had reached the stand-in
    # (None: no replies to wait for, or some never came)


async def paced(
    http: aiohttp.ClientSession, url: str, rate: int, seconds: float, first: int
) -> tuple[Run, float]:
    """Open loop: request i is due at start + i/rate; latency counts from when it was due."""
    count = int(rate * seconds)
    requests = [inbound_sms(first + i) for i in range(count)]
    latencies: list[float] = []
    errors = 0
    last_done = 0.0

    async def one(due: float, body: bytes, signature: str) -> None:
        nonlocal errors, last_done
        headers = {"Content-Type": FORM, "X-Twilio-Signature": signature}
        try:
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                ok = response.status == 200
        except aiohttp.ClientError:
            ok = False
        done = time.perf_counter()
        last_done = max(last_done, done)
        if ok:
            latencies.append(done - due)
        else:
            errors += 1

    tasks = []
    start = time.perf_counter() + 0.05
    for i, (body, signature) in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, body, signature)))
    await asyncio.gather(*tasks)
    run = Run(f"{rate}/s", latencies, last_done - start, errors)
    return run, len(latencies) / (last_done - start)


async def replies_sent(http: aiohttp.ClientSession, twilio: str) -> int:
    async with http.get(f"{twilio}/bench/sent") as response:
        return int((await response.json())["sent"])


async def all_replied(http: aiohttp.ClientSession, twilio: str, webhooks: int) -> int:
    """Until the Twilio stand-in has one reply per webhook answered so far, or no new reply came
    for STALLED seconds (a reply that failed is not sent again); returns the replies received."""
    sent, last_change = await replies_sent(http, twilio), time.perf_counter()
    while sent < webhooks and time.perf_counter() - last_change < STALLED:
        await asyncio.sleep(0.05)
        now = await replies_sent(http, twilio)
        if now != sent:
            sent, last_change = now, time.perf_counter()
    return sent


async def sweep(
    server: str,
    process: asyncio.subprocess.Process,
    url: str,
    rates: list[int],
    seconds: float,
    twilio: str | None,
    keep_going: bool,
) -> list[Result]:
    results = []
    first = 0  # the next MessageSid's number
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        warm_up, _ = await paced(http, url, 20, 1.0, 10**9)  # 20 requests, not counted
        answered = len(warm_up.latencies)  # webhooks acknowledged: each owes one reply
        for rate in rates:
            replied = await all_replied(http, twilio, answered) if twilio is not None else 0
            cpu = cpu_seconds(process.pid)
            run, achieved = await paced(http, url, rate, seconds, first)
            acked = time.perf_counter()
            first += len(run.latencies) + run.errors
            answered += len(run.latencies)
            drain, replies = None, None
            if twilio is not None:
                replies = await all_replied(http, twilio, answered) - replied
                if replies == len(run.latencies):
                    drain = time.perf_counter() - acked
            cpu_ms = (cpu_seconds(process.pid) - cpu) / max(1, len(run.latencies)) * 1000
            results.append(Result(server, rate, run, achieved, cpu_ms, replies, drain))
            progress(f"{server} {rate}/s: p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms")
            if achieved < 0.9 * rate and not keep_going:
                progress(f"{server} is saturated at {rate}/s: higher rates skipped")
                break
    return results


def report(results: list[Result], seconds: float) -> None:
    rows: list[list[object]] = []
    for r in results:
        drain = "-" if r.drain is None else f"{r.drain:.1f}"
        replies = "-" if r.replies is None else f"{r.replies}/{len(r.run.latencies)}"
        rows.append(
            [
                r.server,
                r.rate,
                r.achieved,
                r.run.p50_ms,
                r.run.p99_ms,
                r.run.errors,
                f"{r.cpu_ms:.2f}",
                replies,
                drain,
            ]
        )
    print(f"\ninbound SMS webhooks, open loop, {seconds:g} s per rate (latency from when each was due)")
    headers = [
        "server",
        "offered/s",
        "answered/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "CPU ms/req",
        "replies sent",
        "all replied after s",
    ]
    print(table(headers, rows))
    floor = {r.rate: r.run for r in results if r.server == "hello world"}
    for r in results:
        if r.server.startswith("leadbot") and r.rate in floor:
            base = floor[r.rate]
            print(
                f"{r.server}/hello world at {r.rate}/s: p50 {r.run.p50_ms / base.p50_ms:.1f}x"
                f"   p99 {r.run.p99_ms / base.p99_ms:.1f}x"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", type=int, nargs="+", default=[50, 100, 200, 400], help="requests per second"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate is held")
    parser.add_argument("--quick", action="store_true", help="smoke test: 50 and 200 req/s for 3 s")
    parser.add_argument("--keep-going", action="store_true", help="run every rate, saturated or not")
    parser.add_argument(
        "--before",
        action="store_true",
        help="first measure leadbot with the embedded store as before issue 7 (bench/as_before.py)",
    )
    parser.add_argument(
        "--log", type=Path, default=Path(tempfile.gettempdir()) / "leadbot-bench-webhooks.log"
    )
    args = parser.parse_args()
    if args.quick:
        args.rates, args.seconds = [50, 200], 3.0
    raise_fd_limit(20_000)  # a server falling behind has thousands of requests open at once
    stop_on_sigterm()
    print(f"server logs: {args.log}")

    results: list[Result] = []
    async with stand_in("hello", args.log) as (process, base):
        results += await sweep("hello world", process, base + SMS_PATH, args.rates, args.seconds, None, True)
    servers = [("leadbot before", AS_BEFORE)] if args.before else []
    servers.append(("leadbot", AS_SHIPPED))
    for name, launcher in servers:
        async with stand_in("twilio", args.log) as (_, twilio):
            with tempfile.TemporaryDirectory(prefix="leadbot-bench-") as tmp:
                env = twilio_env(twilio)
                async with leadbot_server(Path(tmp), env, log=args.log, launcher=launcher) as (process, base):
                    url = base + SMS_PATH
                    results += await sweep(
                        name, process, url, args.rates, args.seconds, twilio, args.keep_going
                    )
    report(results, args.seconds)
    print(f"\n{machine_note()}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        sys.path.insert(0, str(ROOT))
        app = twilio_app() if sys.argv[2] == "twilio" else hello_app()
        web.run_app(app, host="127.0.0.1", port=int(sys.argv[3]), print=None)
    else:
        asyncio.run(main())
