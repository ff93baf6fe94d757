"""Which conversation a mail belongs to: reply-to tokens and the Message-IDs seen.

Two collections of the store:
- `email_tokens`: one random token per email conversation. Replies are addressed to
  `leads+<token>@…`, so a reply finds its conversation even when a client drops the
  threading headers. The token is a capability: it is unguessable and never derived.
- `email_message_ids`: every Message-ID we sent or received, with its conversation, so
  a reply's In-Reply-To/References find it. The first claim of an id stands: a mail that
  reuses someone else's Message-ID cannot move that id to another conversation.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from bot.models import utcnow
from bot.store import Store


def new_token() -> str:
    # Lower-case hex: some mail systems lower-case the local part of an address.
    return secrets.token_hex(10)


class EmailThreads:
    """Tokens and Message-IDs over two collections of the store."""

    def __init__(self, store: Store) -> None:
        self._tokens: Any = store.collection("email_tokens")
        self._message_ids: Any = store.collection("email_message_ids")

    async def ensure_indexes(self) -> None:
        await self._tokens.create_index([("conversation_id", ASCENDING)], name="by_conversation", unique=True)

    async def token_for(self, conv_id: str) -> str:
        """The conversation's reply-to token, made on first use (concurrent first uses agree)."""
        for _ in range(3):
            doc = await self._tokens.find_one({"conversation_id": conv_id})
            if doc is not None:
                return str(doc["_id"])
            token = new_token()
            try:
                await self._tokens.insert_one(
                    {"_id": token, "conversation_id": conv_id, "created_at": utcnow()}
                )
            except DuplicateKeyError:
                continue  # another sender made it first (or, never in practice, the token exists)
            return token
        raise RuntimeError(f"no reply-to token could be made for conversation {conv_id}")

    async def conversation_for_token(self, token: str) -> str | None:
        doc = await self._tokens.find_one({"_id": token.lower()})
        return None if doc is None else str(doc["conversation_id"])

    async def remember(self, message_id: str, conv_id: str) -> None:
        with contextlib.suppress(DuplicateKeyError):  # the first claim stands
            await self._message_ids.insert_one({"_id": message_id, "conversation_id": conv_id})

    async def conversation_for_thread(self, message_ids: Sequence[str]) -> str | None:
        """The conversation of the latest of these ids we know (In-Reply-To first, then
        References from the newest back)."""
        if not message_ids:
            return None
        found = {
            doc["_id"]: str(doc["conversation_id"])
            async for doc in self._message_ids.find({"_id": {"$in": list(message_ids)}})
        }
        for message_id in message_ids:
            if message_id in found:
                return found[message_id]
        return None


EMAIL_THREADS: web.AppKey[EmailThreads] = web.AppKey("email_threads")
