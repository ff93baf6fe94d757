"""Which store a process opens: MongoDB when MONGODB_URI is set, else the embedded one.

Kept apart from bot.app so the CLI's store commands (`leadbot users`, `leadbot flows`) open the
store without importing the whole server and the bot's graph.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.embedded import embedded_store
from bot.settings import Settings
from bot.store import Store, open_mongo


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    if settings.mongodb_uri is None:
        async with embedded_store(settings.data_dir, settings.database, settings.snapshot_seconds) as store:
            yield store
        return
    store = open_mongo(
        settings.mongodb_uri, settings.database, timeout_seconds=settings.store_timeout_seconds
    )
    try:
        await store.ensure_indexes()
        yield store
    finally:
        store.close()
