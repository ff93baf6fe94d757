"""`leadbot flows list | export | import`, run as real processes on a data dir of their own."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, make_settings
from tests.support.visitor import Visitor

ROOT = Path(__file__).resolve().parent.parent
LEADBOT = [sys.executable, "-m", "bot"]
NEW_GREETING = "Hello from the terminal!"
NEW_COMPANY_QUESTION = "Which organisation do you work for?"
NEW_THANKS = "Cheers!"


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


async def leadbot(data_dir: Path, *args: str) -> Done:
    """Run `leadbot ARGS` on `data_dir` (no other leadbot settings from this environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBOT_", "MONGODB_"))}
    proc = await asyncio.create_subprocess_exec(
        *LEADBOT,
        *args,
        cwd=ROOT,
        env={**env, "LEADBOT_DATA_DIR": str(data_dir)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


def edited(exported: str) -> str:
    """The export with two one-line texts reworded, still exactly as `export` writes YAML."""
    for old, new in [
        ("question: Which company are you with?", f"question: {NEW_COMPANY_QUESTION}"),
        ("thanks: Thanks!", f"thanks: {NEW_THANKS}"),
    ]:
        assert exported.count(old) == 1, old
        exported = exported.replace(old, new)
    return exported


async def draft_chain(data: Path, work: Path) -> None:
    """export → edit → import (a draft; the changes printed) → export the draft: the same bytes."""
    exported = await leadbot(data, "flows", "export", "default")
    assert exported.code == 0, exported.err
    assert yaml.safe_load(exported.out)["version"] == 1
    changed = work / "changed.yaml"
    changed.write_text(edited(exported.out), encoding="utf-8")
    imported = await leadbot(data, "flows", "import", str(changed))
    assert imported.code == 0, imported.err
    assert imported.out == (
        "  text `thanks` changed\n"
        "  question `company`: wording changed\n"
        "default: saved as a draft; publish it in the admin page or with --publish\n"
    )
    draft = await leadbot(data, "flows", "export", "default", "--version", "draft")
    assert draft.code == 0 and draft.out == changed.read_text(encoding="utf-8")


async def publish_chain(data: Path, work: Path) -> None:
    """import --publish → version 2, live; version 1 still exports with the old text."""
    document = yaml.safe_load((ROOT / "flows" / "default.yaml").read_text(encoding="utf-8"))
    old_greeting = document["texts"]["greeting"]
    document["texts"]["greeting"] = NEW_GREETING
    changed = work / "published.yaml"
    changed.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    published = await leadbot(data, "flows", "import", str(changed), "--publish", "--note", "warmer")
    assert published.code == 0, published.err
    assert published.out == "  text `greeting` changed\ndefault: published as version 2\n"
    old = await leadbot(data, "flows", "export", "default", "--version", "1")
    assert old.code == 0, old.err
    v1 = yaml.safe_load(old.out)
    assert (v1["version"], v1["texts"]["greeting"]) == (1, old_greeting)
    assert NEW_GREETING not in old.out
    listed = await leadbot(data, "flows", "list")  # publishing used up the draft
    assert listed.code == 0 and listed.out == "default\tv2\tno draft\tchannels: -\tB2B qualification\n"


async def test_import_saves_a_draft_and_publish_makes_a_new_version(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    # Two stores, so the two runs go side by side (each process takes a second or two to start).
    await asyncio.gather(
        draft_chain(tmp_path / "drafts", tmp_path), publish_chain(tmp_path / "data", tmp_path)
    )

    # A server on the published store runs what the terminal published.
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data")))
    flow = await api_get(client, "/api/flows/default")
    assert flow["live_version"] == 2 and flow["draft"] is None
    assert flow["live"]["texts"]["greeting"] == NEW_GREETING
    [latest, *_] = (await api_get(client, "/api/flows/default/versions"))["versions"]
    assert (latest["version"], latest["published_by"], latest["note"]) == (2, "cli", "warmer")
    visitor = await Visitor.connect(client)
    assert (await visitor.greeting())["text"].startswith(NEW_GREETING)
    await visitor.close()


async def test_what_cannot_be_imported_or_exported_is_refused(tmp_path: Path) -> None:
    document: dict[str, Any] = yaml.safe_load((ROOT / "flows" / "default.yaml").read_text(encoding="utf-8"))
    document["scoring"]["rules"][0]["slot"] = "budget"
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    not_yaml = tmp_path / "not-yaml.yaml"
    not_yaml.write_text("id: [unclosed\n", encoding="utf-8")
    not_a_flow = tmp_path / "list.yaml"
    not_a_flow.write_text("- a list\n", encoding="utf-8")

    async def with_problems() -> tuple[Done, Done]:
        data = tmp_path / "problems"
        return await leadbot(data, "flows", "import", str(invalid)), await leadbot(data, "flows", "list")

    # Each on a store of its own, so they run side by side.
    (saved, listed), nope, broken, listy, missing = await asyncio.gather(
        with_problems(),
        leadbot(tmp_path / "unknown", "flows", "export", "nope"),
        leadbot(tmp_path / "a", "flows", "import", str(not_yaml)),
        leadbot(tmp_path / "b", "flows", "import", str(not_a_flow)),
        leadbot(tmp_path / "c", "flows", "import", str(tmp_path / "missing.yaml")),
    )
    # Invalid: exit 1, the problems on stderr, and kept as the draft so no work is lost.
    assert saved.code == 1 and saved.out == ""
    assert saved.err == (
        f"leadbot: {invalid}: saved as the draft of default, but it has problems:\n"
        "  scoring.rules.0.slot: unknown slot 'budget'\n"
    )
    assert listed.code == 0
    assert listed.out == "default\tv1\tdraft with problems\tchannels: -\tB2B qualification\n"
    # Not a flow file, or no such flow: exit 2 with the reason.
    assert broken.code == 2 and "not valid YAML" in broken.err
    assert listy.code == 2 and "needs an id at the top level" in listy.err
    assert missing.code == 2 and "cannot read" in missing.err
    assert nope.code == 2 and nope.err == "leadbot: flow nope has no published version\n"
    for done in (broken, listy, missing, nope):
        assert done.out == "" and "Traceback" not in done.err
