"""`leadbot users add | list | disable | token`, run as real processes on a data dir that a
server then opens: what the command line does is what sign-in and the API see."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import ClientFactory, make_settings

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


@dataclass
class Done:
    code: int
    out: str
    err: str


async def leadbot(data_dir: Path, *args: str, stdin: str = "") -> Done:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBOT_", "MONGODB_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env={**env, "LEADBOT_DATA_DIR": str(data_dir)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate(stdin.encode())
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


async def sign_in(client: TestClient[Any, Any], email: str, password: str) -> int:
    page = await (await client.get("/login")).text()
    found = re.search(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    form = {"email": email, "password": password, "csrf_token": found.group(1)}
    return (await client.post("/login", data=form, allow_redirects=False)).status


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def test_added_users_are_listed_and_can_sign_in(aiohttp_client: ClientFactory, data_dir: Path) -> None:
    added = await leadbot(
        data_dir,
        *("users", "add", "Dana@Example.com", "--role", "agent", "--name", "Dana Scully"),
        *("--team", "sales", "--team", "dach", "--capacity", "3"),
        stdin=PASSWORD + "\n",
    )
    assert added.code == 0, added.err
    assert added.out == "added agent dana@example.com (Dana Scully)\n"
    assert PASSWORD not in added.out + added.err
    generated = await leadbot(
        data_dir, "users", "add", "boss@example.com", "--role", "admin", "--generate-password"
    )
    assert generated.code == 0, generated.err
    password = re.search(r"^password: (\S+)$", generated.out, re.MULTILINE)
    assert password is not None and len(password.group(1)) >= 20

    listed = await leadbot(data_dir, "users", "list")
    assert listed.code == 0
    assert listed.out.splitlines() == [
        "EMAIL             NAME         ROLE   TEAMS        CAPACITY  DISABLED",
        "boss@example.com  boss         admin  -            5         no",
        "dana@example.com  Dana Scully  agent  sales, dach  3         no",
    ]

    client = await aiohttp_client(create_app(make_settings(data_dir)))
    assert await sign_in(client, "dana@example.com", PASSWORD) == 303
    assert await sign_in(client, "boss@example.com", password.group(1)) == 303


async def test_tokens_replace_each_other_and_disabling_stops_everything(
    aiohttp_client: ClientFactory, data_dir: Path
) -> None:
    assert (
        await leadbot(data_dir, "users", "add", "dana@example.com", "--role", "agent", stdin=PASSWORD)
    ).code == 0
    first = await leadbot(data_dir, "users", "token", "dana@example.com")
    second = await leadbot(data_dir, "users", "token", "DANA@example.com")
    assert first.code == second.code == 0
    old, new = first.out.strip(), second.out.strip()
    assert old != new and len(new) >= 40 and "previous one no longer works" in second.err

    client = await aiohttp_client(create_app(make_settings(data_dir)))
    assert (await client.get("/api/leads", headers={"Authorization": f"Bearer {new}"})).status == 200
    assert (await client.get("/api/leads", headers={"Authorization": f"Bearer {old}"})).status == 401
    await client.close()

    disabled = await leadbot(data_dir, "users", "disable", "dana@example.com")
    assert disabled.code == 0 and disabled.out.startswith("disabled dana@example.com")
    assert "yes" in (await leadbot(data_dir, "users", "list")).out.splitlines()[1]
    client = await aiohttp_client(create_app(make_settings(data_dir)))
    assert (await client.get("/api/leads", headers={"Authorization": f"Bearer {new}"})).status == 401
    assert await sign_in(client, "dana@example.com", PASSWORD) == 401


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "not-an-email", "--role", "agent"), PASSWORD, "'not-an-email' is not a valid email address"),
        (("add", "dana@example.com", "--role", "boss"), PASSWORD, "invalid choice: 'boss'"),
        (("add", "dana@example.com"), PASSWORD, "the following arguments are required: --role"),
        (("add", "dana@example.com", "--role", "agent"), "short\n", "at least 8 characters"),
        (("add", "dana@example.com", "--role", "agent"), "", "no password: pipe it in on one line"),
        (
            ("add", "dana@example.com", "--role", "agent", "--capacity", "-1"),
            PASSWORD,
            "capacity must be between 0 and 1000",
        ),
        (
            ("add", "dana@example.com", "--role", "agent", "--team", " "),
            PASSWORD,
            "team name must not be empty",
        ),
        (("disable", "nobody@example.com"), "", "no user with the email nobody@example.com"),
        (("token", "nobody@example.com"), "", "no user with the email nobody@example.com"),
    ],
)
async def test_mistakes_are_reported_in_one_line_with_code_2(
    data_dir: Path, args: tuple[str, ...], stdin: str, message: str
) -> None:
    done = await leadbot(data_dir, "users", *args, stdin=stdin)
    assert done.code == 2 and message in done.err, done.err
    assert "Traceback" not in done.err


async def test_an_email_is_taken_whatever_its_case(data_dir: Path) -> None:
    assert (
        await leadbot(data_dir, "users", "add", "dana@example.com", "--role", "agent", stdin=PASSWORD)
    ).code == 0
    again = await leadbot(data_dir, "users", "add", "DANA@Example.com", "--role", "admin", stdin=PASSWORD)
    assert again.code == 2
    assert again.err.strip() == "leadbot: a user with the email dana@example.com already exists"
    assert len((await leadbot(data_dir, "users", "list")).out.splitlines()) == 2


async def test_the_embedded_store_is_one_process_at_a_time(
    aiohttp_client: ClientFactory, data_dir: Path
) -> None:
    # A running server holds the embedded store; a second writer would save over its data.
    await aiohttp_client(create_app(make_settings(data_dir)))
    refused = await leadbot(
        data_dir, "users", "add", "late@example.com", "--role", "agent", stdin=PASSWORD + "\n"
    )
    assert refused.code == 2
    assert "in use by another leadbot process" in refused.err and f"pid {os.getpid()}" in refused.err
    second = await leadbot(data_dir, "serve", "--port", "0")
    assert second.code == 2 and "in use by another leadbot process" in second.err
