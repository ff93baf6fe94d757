"""`leadbot serve` with the embedded store as it was before issue 7's fixes: the "before" of a bench.

The benches compare the shipped server with this one in the same run (`--before` in
bench/webhooks.py and bench/sockets.py). It runs the unchanged CLI with two things put back:

- the index (bot/embedded_index.py) covers what it covered then: `messages` by `_id`,
  conversation and dedupe key, `conversations` by `_id` and token hash. Leads (by `_id`, email,
  phone), conversations by contact key and every other collection are scanned in full again.
  The bookkeeping behind those look-ups is today's, which costs a little more per write;
- the snapshot is taken as it was (bench/snapshot.py's `save_as_before`): the whole database
  dumped on the event loop, then encoded and written in a thread.

    python bench/as_before.py serve --port 8080     # the same arguments as `leadbot`
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from snapshot import save_as_before

import bot.embedded
from bot.embedded import Snapshotter
from bot.embedded_index import index_collection, install_hooks

FIELDS_BEFORE: Mapping[str, tuple[str, ...]] = {
    "messages": ("conversation_id", "dedupe_key"),
    "conversations": ("visitor_token_hash",),
}


def accelerate_as_before(database: Any) -> None:
    install_hooks()
    for name, fields in FIELDS_BEFORE.items():
        index_collection(database[name]._store, fields)


async def save_if_changed_as_before(self: Snapshotter) -> bool:
    writes = self.store.writes
    if writes == self._saved_writes:
        return False
    await save_as_before(self.store, self.path)
    self._saved_writes = writes
    return True


def apply() -> None:
    bot.embedded.accelerate = accelerate_as_before  # type: ignore[attr-defined]  # on purpose
    Snapshotter.save_if_changed = save_if_changed_as_before  # type: ignore[method-assign]


if __name__ == "__main__":
    apply()
    from bot.cli import main

    raise SystemExit(main(sys.argv[1:]))
