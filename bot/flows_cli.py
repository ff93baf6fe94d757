"""`leadbot flows list | export | import`: the flows kept in the store, from the terminal.

Like `leadbot users`, these open the store exactly as `leadbot serve` does. The embedded
store is one process's at a time: while the server runs on it, use the admin page's Export
and Import buttons or the API (docs/api.md) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import Refused
from bot.flowfile import export_yaml, read_yaml, to_yaml
from bot.flows import FlowError
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.flow_versions import FlowVersions

ACTOR = "cli"


def _now() -> datetime:
    return datetime.now(UTC)


def _run(action: Callable[[FlowVersions], Awaitable[int]]) -> int:
    from bot.assets import flows_dir
    from bot.flow_versions import open_versions
    from bot.flowbook import FlowBook
    from bot.storage import open_store
    from bot.store import NotFound

    settings = Settings.from_env()

    async def run() -> int:
        async with open_store(settings) as store:
            versions = await open_versions(store, clock=_now)
            # A store never served yet gets the flow files first, as `serve` would.
            await FlowBook.from_dir(settings.flows_dir or flows_dir(), settings.default_flow).attach(versions)
            return await action(versions)

    try:
        return asyncio.run(run())
    except (NotFound, Refused) as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 2


def flows_list(args: argparse.Namespace) -> int:
    from bot.flow_versions import live_of
    from bot.flowfile import problems

    async def action(versions: FlowVersions) -> int:
        for record in await versions.records():
            live = live_of(record)
            draft = record.get("draft")
            state = "no draft" if draft is None else ("draft with problems" if problems(draft) else "draft")
            channels = ", ".join(record.get("channels", [])) or "-"
            shown = f"v{live}" if live else "unpublished"
            print(f"{record['_id']}\t{shown}\t{state}\tchannels: {channels}\t{record.get('name', '')}")
        return 0

    return _run(action)


def flows_export(args: argparse.Namespace) -> int:
    async def action(versions: FlowVersions) -> int:
        if args.version == "draft":
            draft = (await versions.record(args.id)).get("draft")
            if draft is None:
                print(f"leadbot: flow {args.id} has no draft", file=sys.stderr)
                return 2
            text = to_yaml(draft)
        else:
            number = await versions.live_version(args.id) if args.version == "live" else int(args.version)
            if number is None:
                print(f"leadbot: flow {args.id} has no published version", file=sys.stderr)
                return 2
            text = export_yaml(await versions.flow(args.id, number))
        if args.output:
            await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0

    if args.version not in ("live", "draft") and not args.version.isdigit():
        print("leadbot: --version is a number, live or draft", file=sys.stderr)
        return 2
    return _run(action)


def flows_import(args: argparse.Namespace) -> int:
    try:
        document = read_yaml(Path(args.file).read_text(encoding="utf-8"), args.file)
    except OSError as exc:
        raise FlowError(f"{args.file}: cannot read: {exc.strerror}") from None
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise FlowError(f"{args.file}: not a flow: it needs an id at the top level")
    flow_id: str = document["id"]

    async def action(versions: FlowVersions) -> int:
        found, changes = await versions.save_draft(flow_id, document, actor=ACTOR, action="import")
        if found:
            print(
                f"leadbot: {args.file}: saved as the draft of {flow_id}, but it has problems:",
                file=sys.stderr,
            )
            for problem in found:
                print(f"  {problem.path or '(flow)'}: {problem.message}", file=sys.stderr)
            return 1
        for line in changes or ["no changes against the live version"]:
            print(f"  {line}")
        if not args.publish:
            print(f"{flow_id}: saved as a draft; publish it in the admin page or with --publish")
            return 0
        published = await versions.publish_draft(flow_id, actor=ACTOR, note=args.note)
        print(f"{flow_id}: published as version {published.version}")
        return 0

    return _run(action)


def add_flows_store_commands(fsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ls = fsub.add_parser("list", help="the flows in the store: live version, draft, bound channels")
    ls.set_defaults(func=flows_list)
    e = fsub.add_parser("export", help="print a flow version as YAML (import round-trips it exactly)")
    e.add_argument("id")
    e.add_argument("--version", default="live", help="a version number, live (default) or draft")
    e.add_argument("-o", "--output", help="write to this file instead of stdout")
    e.set_defaults(func=flows_export)
    i = fsub.add_parser(
        "import", help="save a flow YAML file as its flow's draft (a new flow if the id is new)"
    )
    i.add_argument("file")
    i.add_argument("--publish", action="store_true", help="publish it as the next version at once")
    i.add_argument("--note", help="why, for the version history (with --publish)")
    i.set_defaults(func=flows_import)
