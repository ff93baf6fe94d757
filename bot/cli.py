"""`leadbot serve | chat | flows validate | users …`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.access_log import PathOnlyAccessLogger
from bot.auth.cli import add_users_commands
from bot.errors import StoreLocked
from bot.flows import FlowError, load_flow
from bot.flows_cli import add_flows_store_commands
from bot.settings import Settings, SettingsError


def _redact(uri: str) -> str:
    # mongodb://user:secret@host → mongodb://user:***@host
    head, sep, tail = uri.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return uri
    scheme, _, cred = head.partition("//")
    user = cred.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"


# Libraries that log routine work at INFO. The twilio SDK writes eleven lines per REST request
# (the request line, each header, the response's status and headers): most of the log, and ~2 %
# of the server's CPU at 200 SMS/s (docs/performance.md). Their warnings and errors still show.
CHATTY_LOGGERS = ("twilio",)


def quiet_chatty_loggers() -> None:
    """Only warnings from `CHATTY_LOGGERS`, unless the operator asked for DEBUG (then all)."""
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        return
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app
    from bot.drain import drain_on_sigterm
    from bot.embedded import SNAPSHOT_FILE
    from bot.logs import setup_logging
    from bot.tokens import api_token

    settings = Settings.from_env()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = Settings(**{**settings.__dict__, **overrides})
    setup_logging(settings.log_format, logging.getLevelNamesMapping()[settings.log_level.upper()])
    quiet_chatty_loggers()
    token, token_file = api_token(settings)
    app = create_app(settings)
    drain_on_sigterm(app)
    url = f"http://{settings.host}:{settings.port}/"
    where = (
        f"MongoDB at {_redact(settings.mongodb_uri)}"
        if settings.mongodb_uri
        else f"embedded store at {(settings.data_dir / SNAPSHOT_FILE).resolve()}"
    )
    print(f"leadbot serving on {url}  (demo page with the chat widget)", flush=True)
    print(
        f"  admin API token: {token}" + (f"  (kept in {token_file.resolve()})" if token_file else ""),
        flush=True,
    )
    print(f"  data: {where}", flush=True)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=15.0,
        access_log_class=PathOnlyAccessLogger,
    )
    return 0


async def _chat(flow_id: str | None, quiet: bool, stdin: TextIO, stdout: TextIO) -> int:
    from aiojobs import Scheduler

    from bot.assets import flows_dir
    from bot.bus import Bus, MessageCreated
    from bot.conversations import Conversations, utcnow_clock
    from bot.embedded import embedded_store
    from bot.flow_versions import open_versions
    from bot.flowbook import FlowBook
    from bot.models import Inbound
    from channels.base import ChannelRegistry

    settings = Settings.from_env()
    flows = FlowBook.from_dir(settings.flows_dir or flows_dir(), settings.default_flow)
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="leadbot-chat-") as tmp:
        async with embedded_store(Path(tmp), "chat", snapshot_seconds=3600) as store:
            bus = Bus()
            await flows.attach(await open_versions(store, clock=utcnow_clock))
            jobs = Scheduler()
            convs = Conversations(store=store, bus=bus, flows=flows, channels=ChannelRegistry(), jobs=jobs)
            conv, _ = await convs.start("terminal", flow_id=flow_id)

            def show(event: object) -> None:
                if isinstance(event, MessageCreated) and event.message.sender != "visitor":
                    message = event.message
                    choices = message.expects.choices if message.expects else []
                    hint = f"  [{' / '.join(choices)}]" if choices else ""
                    print(f"bot> {message.text}{hint}", file=stdout, flush=True)

            bus.subscribe(conv.id, show)
            for message in await store.messages_after(conv.id, 0):
                show(MessageCreated(message))
            n = 0
            while True:
                print("you> ", end="", file=stdout, flush=True)
                line = await loop.run_in_executor(None, stdin.readline)
                if not line:
                    break
                text = line.strip()
                if not text:
                    continue
                n += 1
                await convs.receive(
                    Inbound(channel="terminal", conversation_id=conv.id, text=text, client_id=str(n))
                )
                await convs.answer_owed(conv.id)
                conv = await store.get_conversation(conv.id)
                lead = await store.get_lead(conv.lead_id)
                if not quiet:
                    known = ", ".join(f"{k}={v}" for k, v in lead.slots.items())
                    print(
                        f"      [lead {lead.status}: {known or 'nothing yet'} | score {lead.score} "
                        f"{lead.grade} {lead.temperature} | mode {conv.mode}]",
                        file=stdout,
                        flush=True,
                    )
            await jobs.close()
    return 0


def chat(args: argparse.Namespace) -> int:
    return asyncio.run(_chat(args.flow, args.quiet, sys.stdin, sys.stdout))


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        try:
            flow = load_flow(Path(name))
        except FlowError as exc:
            failed += 1
            print(exc, file=sys.stderr)
        else:
            print(f"{name}: ok (flow '{flow.id}' v{flow.version}, {len(flow.slots)} slots)")
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadbot", description="Lead-qualifying chat server.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the server (embedded store unless MONGODB_URI is set)")
    s.add_argument("--host", help="interface to bind (LEADBOT_HOST, default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (LEADBOT_PORT, default 8080)")
    s.set_defaults(func=serve)
    c = sub.add_parser("chat", help="talk to the bot in this terminal")
    c.add_argument("--flow", help="flow id (default: LEADBOT_DEFAULT_FLOW or 'default')")
    c.add_argument("--quiet", action="store_true", help="do not print the lead after each turn")
    c.set_defaults(func=chat)
    f = sub.add_parser("flows", help="check flow files; list, export and import the flows in the store")
    fsub = f.add_subparsers(dest="flows_command", required=True)
    v = fsub.add_parser("validate", help="check flow YAML files")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=validate)
    add_flows_store_commands(fsub)
    add_users_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except (SettingsError, FlowError, StoreLocked) as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result
