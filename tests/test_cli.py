"""The `leadbot` command: serve, chat, flows validate — run as real processes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
LEADBOT = [sys.executable, "-m", "bot"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBOT_", "MONGODB_"))}
    return {**env, "LEADBOT_DATA_DIR": str(tmp_path / "data"), **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_flows_validate_accepts_the_default_and_names_bad_fields(tmp_path: Path) -> None:
    ok = subprocess.run(
        [*LEADBOT, "flows", "validate", "flows/default.yaml"], cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "ok (flow 'default' v1, 9 slots)" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "flows" / "default.yaml").read_text().replace("type: integer", "type: count"))
    failed = subprocess.run(
        [*LEADBOT, "flows", "validate", str(bad)], cwd=ROOT, capture_output=True, text=True
    )
    assert failed.returncode == 1 and "slots.2.type" in failed.stderr


def test_chat_runs_the_bot_in_the_terminal(tmp_path: Path) -> None:
    script = "We need a help desk\nAcme\nskip\nskip\nASAP\nyes\nRoad Runner\nroad@acme.com\nskip\n"
    done = subprocess.run(
        [*LEADBOT, "chat"],
        cwd=ROOT,
        input=script,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "bot> Hi!" in out and "What are you hoping to solve" in out
    assert "[ASAP / Within 3 months / Within 6 months / Later]" in out
    assert "company=Acme" in out and "email=road@acme.com" in out
    assert out.count("bot> ") == 10  # the greeting and one reply per line


async def test_serve_prints_where_things_are_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, LEADBOT_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        *LEADBOT, "serve", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert proc.stdout is not None
    try:
        lines = []
        async with asyncio.timeout(60):
            while len(lines) < 3:
                lines.append((await proc.stdout.readline()).decode())
        banner = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in banner
        token = re.search(r"admin API token: (\S+)", banner)
        assert token is not None
        assert str(tmp_path / "data") in banner and "embedded store" in banner
        async with aiohttp.ClientSession() as http:
            await wait_until_ready(http, f"http://127.0.0.1:{port}")
            async with http.get(
                f"http://127.0.0.1:{port}/api/leads", headers={"Authorization": f"Bearer {token.group(1)}"}
            ) as leads:
                assert leads.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await proc.wait()
    assert proc.returncode == 0


def test_bad_settings_are_reported_plainly(tmp_path: Path) -> None:
    done = subprocess.run(
        [*LEADBOT, "serve"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(tmp_path, LEADBOT_PORT="eighty"),
    )
    assert done.returncode == 2 and "LEADBOT_PORT must be a whole number" in done.stderr


async def test_sigterm_drains_then_closes_sockets_with_1001(tmp_path: Path) -> None:
    """Readiness fails first while the process still serves; then sockets close with 1001."""
    port = _free_port()
    env = _env(tmp_path, LEADBOT_PORT=str(port), LEADBOT_SHUTDOWN_DRAIN_SECONDS="1")
    proc = await asyncio.create_subprocess_exec(
        *LEADBOT,
        "serve",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_ready(http, base)
            ws = await http.ws_connect(f"{base}/ws/chat")
            hello = await ws.receive_json()
            assert hello["type"] == "hello"
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(10):
                while True:  # the drain begins as soon as the signal is handled
                    async with http.get(f"{base}/readyz") as ready:
                        if ready.status == 503:
                            assert (await ready.json())["status"] == "shutting_down"
                            break
            async with http.get(f"{base}/healthz") as alive:
                assert alive.status == 200  # still serving during the drain
            async with asyncio.timeout(10):
                while True:
                    msg = await ws.receive()
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                        break
            assert ws.close_code == 1001
        async with asyncio.timeout(30):
            await proc.wait()
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_the_access_log_keeps_paths_but_never_query_strings(tmp_path: Path) -> None:
    """Query strings carry lead searches, visitor tokens and webhook keys: the log of `leadbot
    serve` shows each request's path, never what its query held."""
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        *LEADBOT,
        "serve",
        cwd=ROOT,
        env=_env(tmp_path, LEADBOT_PORT=str(port)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_ready(http, base)
            async with http.get(f"{base}/api/privacy/leads", params={"q": "jane@example.com"}) as found:
                assert found.status == 401
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = err.decode()
    assert '"GET /api/privacy/leads?…" 401' in log
    assert "jane" not in log


async def wait_until_ready(http: aiohttp.ClientSession, base: str) -> None:
    """Until `leadbot serve` at `base` answers /readyz with 200 (polling, under a deadline)."""
    async with asyncio.timeout(30):
        while True:
            try:
                async with http.get(f"{base}/readyz") as ready:
                    if ready.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)  # the port is not open yet
