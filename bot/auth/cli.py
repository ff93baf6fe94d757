"""`leadbot users add | list | disable | token`: accounts, from the terminal.

The commands open the store exactly as `leadbot serve` does (embedded in the data dir
unless MONGODB_URI is set). Mistakes — a bad or taken email, a weak password, an unknown
user — are reported in one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.auth.emails import normalize_email
from bot.auth.errors import UserError
from bot.auth.passwords import check_new_password, generate_password
from bot.auth.roles import ROLES
from bot.settings import Settings

# The store and the repositories come in only when a users command runs: every other
# command (and --help) starts without loading the database drivers.
if TYPE_CHECKING:
    from bot.auth.users import User, Users
    from bot.store import Store

Action = Callable[["Store", "Users"], Awaitable[int]]


def _now() -> datetime:
    return datetime.now(UTC)


def _fail(message: str) -> int:
    print(f"leadbot: {message}", file=sys.stderr)
    return 2


def _run(action: Action) -> int:
    from bot.storage import open_store  # the server's imports, only for the commands that need them

    settings = Settings.from_env()

    async def run() -> int:
        from bot.auth.users import Users

        async with open_store(settings) as store:
            users = Users(store, clock=_now)
            await users.ensure_indexes()
            return await action(store, users)

    try:
        code = asyncio.run(run())
    except UserError as exc:
        return _fail(str(exc))
    return code


def _password(generate: bool) -> str:
    """From --generate-password, a terminal (asked twice) or one line of stdin."""
    if generate:
        return generate_password()
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        check_new_password(first)
        if getpass.getpass("Password again: ") != first:
            raise UserError("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UserError("no password: pipe it in on one line, or use --generate-password")
    return line


def users_add(args: argparse.Namespace) -> int:
    try:
        normalize_email(args.email)  # before asking for a password that would be wasted
        password = _password(args.generate_password)
        check_new_password(password)
    except UserError as exc:
        return _fail(str(exc))

    async def add(store: Store, users: Users) -> int:
        user = await users.add(
            args.email, password, role=args.role, name=args.name, teams=args.teams, capacity=args.capacity
        )
        print(f"added {user.role} {user.email} ({user.name})")
        if args.generate_password:
            print(f"password: {password}")
        return 0

    return _run(add)


def _table(users: Sequence[User]) -> str:
    header = ("EMAIL", "NAME", "ROLE", "TEAMS", "CAPACITY", "DISABLED")
    rows = [
        (u.email, u.name, u.role, ", ".join(u.teams) or "-", str(u.capacity), "yes" if u.disabled else "no")
        for u in users
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def users_list(args: argparse.Namespace) -> int:
    async def show(store: Store, users: Users) -> int:
        everyone = await users.list()
        print(
            _table(everyone)
            if everyone
            else "no users yet: add one with 'leadbot users add EMAIL --role admin'"
        )
        return 0

    return _run(show)


def users_disable(args: argparse.Namespace) -> int:
    async def disable(store: Store, users: Users) -> int:
        from bot.auth.sessions import Sessions

        user = await users.disable(args.email)
        # Each request checks the account anyway; deleting the sessions just tidies up.
        sessions = Sessions(store, clock=_now, idle=timedelta(0), lifetime=timedelta(0))
        ended = await sessions.end_all(user.id)
        print(f"disabled {user.email}; ended {ended} session{'' if ended == 1 else 's'}")
        return 0

    return _run(disable)


def users_token(args: argparse.Namespace) -> int:
    async def token(store: Store, users: Users) -> int:
        issued = await users.issue_api_token(args.email)
        print(issued)
        print(
            f"(a new API token for {normalize_email(args.email)}; the previous one no longer works)",
            file=sys.stderr,
        )
        return 0

    return _run(token)


def add_users_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    u = sub.add_parser("users", help="the agents and admins who sign in to the inbox")
    usub = u.add_subparsers(dest="users_command", required=True)
    a = usub.add_parser(
        "add",
        help="add an agent or admin",
        description="The password is read from stdin (one line) when it is not a terminal, "
        "asked for twice when it is, or generated and printed with --generate-password.",
    )
    a.add_argument("email")
    a.add_argument("--role", required=True, choices=ROLES, help="admins can also take conversations")
    a.add_argument("--name", help="shown to colleagues and visitors (default: the email before the @)")
    a.add_argument(
        "--team", action="append", default=[], dest="teams", metavar="TEAM", help="repeat for several teams"
    )
    a.add_argument("--capacity", type=int, default=5, help="conversations at once (default 5)")
    a.add_argument("--generate-password", action="store_true", help="make up a strong password and print it")
    a.set_defaults(func=users_add)
    ls = usub.add_parser("list", help="everyone who can sign in (or could, before being disabled)")
    ls.set_defaults(func=users_list)
    d = usub.add_parser("disable", help="stop a user signing in; their sessions and API token stop working")
    d.add_argument("email")
    d.set_defaults(func=users_disable)
    t = usub.add_parser("token", help="print a new personal API token (the previous one stops working)")
    t.add_argument("email")
    t.set_defaults(func=users_token)
