"""The ids of a report's conversations (its cohort), in chunks of a bounded size.

The message pipelines (drop-off, timelines) read only the messages of these conversations,
`conversation_id` `$in` one chunk at a time, which the messages' `(conversation_id, seq)` index
serves: a report reads its own conversations' messages, however long ago its range starts and
however many messages were written since. A chunk bounds the size of each query and of what
it groups in memory; each conversation is in exactly one chunk, so the chunks' results add up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from bot.analytics.pipelines import cohort_match
from bot.analytics.window import Window
from bot.store import Store

CHUNK_SIZE: Final = 1000


async def cohort_id_chunks(store: Store, window: Window, size: int = CHUNK_SIZE) -> AsyncIterator[list[str]]:
    """The window's conversation ids, `size` at a time (the last chunk may hold fewer; no chunk
    when the window has no conversation)."""
    if size < 1:
        raise ValueError(f"a chunk holds at least one conversation, not {size}")
    chunk: list[str] = []
    async for doc in store.conversations.find(cohort_match(window), projection={"_id": 1}):
        chunk.append(doc["_id"])
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
