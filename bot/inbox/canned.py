"""Canned replies: short texts agents pick to fill the reply box, kept by admins.

Documents in `canned_replies`: `{_id, title, text, created_by, created_at}` (`created_by` is
the admin's user id). Titles are one line; texts become replies, so they obey the same length
limit as any message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from bot.errors import Conflict, Invalid
from bot.store import NotFound, Store, new_id

MAX_TITLE: Final = 80
# Enough for any team; the inbox shows them all at once, so the list stays bounded.
MAX_REPLIES: Final = 500


def canned_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    created_at = doc["created_at"]
    return {
        "id": doc["_id"],
        "title": doc["title"],
        "text": doc["text"],
        "created_by": doc.get("created_by"),
        "created_at": created_at.isoformat() if isinstance(created_at, datetime) else str(created_at),
    }


def _title(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("title must be a non-empty string")
    title = raw.strip()
    if len(title) > MAX_TITLE:
        raise Invalid(f"title is longer than {MAX_TITLE} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in title):
        raise Invalid("title must be one line, without control characters")
    return title


def _text(raw: Any, max_chars: int) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("text must be a non-empty string")
    text = raw.strip()
    if len(text) > max_chars:
        raise Invalid(f"text is longer than {max_chars} characters (the longest message allowed)")
    return text


class CannedReplies:
    def __init__(self, store: Store, *, clock: Callable[[], datetime], max_chars: int) -> None:
        self._replies = store.collection("canned_replies")
        self._clock = clock
        self.max_chars = max_chars

    async def list(self) -> list[dict[str, Any]]:
        """Every canned reply, by title (case-insensitively), as JSON."""
        docs = [doc async for doc in self._replies.find({}).limit(MAX_REPLIES)]
        docs.sort(key=lambda doc: (str(doc["title"]).casefold(), doc["created_at"]))
        return [canned_json(doc) for doc in docs]

    async def add(self, title: Any, text: Any, *, created_by: str) -> dict[str, Any]:
        doc = {
            "_id": new_id(),
            "title": _title(title),
            "text": _text(text, self.max_chars),
            "created_by": created_by,
            "created_at": self._clock(),
        }
        if await self._replies.count_documents({}) >= MAX_REPLIES:
            raise Conflict(f"there are already {MAX_REPLIES} canned replies; delete some first")
        await self._replies.insert_one(doc)
        return canned_json(doc)

    async def delete(self, reply_id: str) -> None:
        result = await self._replies.delete_one({"_id": reply_id})
        if result.deleted_count == 0:
            raise NotFound(f"canned reply {reply_id} not found")
