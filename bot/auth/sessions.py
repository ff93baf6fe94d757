"""Sign-in sessions over `store.collection("sessions")`.

The browser holds a random session id (`secrets.token_urlsafe(32)`); the store holds only its
SHA-256, so a copy of the database cannot be replayed as cookies. A session ends when unused
for `idle` or, in any case, `lifetime` after it began — both read from the injected clock.
Each session has its own CSRF token, which pages embed and unsafe requests send back.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel
from pymongo import ASCENDING

from bot.auth.csrf import new_csrf_token
from bot.store import Store, token_hash

# Longer than any id we issue; anything longer is not looked up.
MAX_SESSION_ID: Final = 100
# Recording every request would be a write per request; a minute's precision is plenty
# for an idle limit measured in hours.
TOUCH_EVERY: Final = timedelta(minutes=1)


class Session(BaseModel):
    id_hash: str
    user_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


def _session(doc: Mapping[str, Any]) -> Session:
    return Session.model_validate({**doc, "id_hash": doc["_id"]})


class Sessions:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], idle: timedelta, lifetime: timedelta
    ) -> None:
        self._sessions = store.collection("sessions")
        self._clock = clock
        self.idle = idle
        self.lifetime = lifetime

    async def ensure_indexes(self) -> None:
        await self._sessions.create_index([("user_id", ASCENDING)], name="by_user")

    def _expired(self, session: Session, now: datetime) -> bool:
        return now - session.last_seen_at >= self.idle or now - session.created_at >= self.lifetime

    async def start(self, user_id: str) -> tuple[str, Session]:
        """A new session for the user: (the id for the cookie, the session)."""
        now = self._clock()
        await self._purge(now)
        session_id = secrets.token_urlsafe(32)
        session = Session(
            id_hash=token_hash(session_id),
            user_id=user_id,
            csrf_token=new_csrf_token(),
            created_at=now,
            last_seen_at=now,
        )
        doc = session.model_dump(mode="python")
        doc["_id"] = doc.pop("id_hash")
        await self._sessions.insert_one(doc)
        return session_id, session

    async def resolve(self, session_id: str) -> Session | None:
        """The live session with this id, marked as used; None if unknown or expired."""
        if not session_id or len(session_id) > MAX_SESSION_ID:
            return None
        key = token_hash(session_id)
        doc = await self._sessions.find_one({"_id": key})
        if doc is None:
            return None
        session = _session(doc)
        now = self._clock()
        if self._expired(session, now):
            await self._sessions.delete_one({"_id": key})
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            await self._sessions.update_one({"_id": key}, {"$set": {"last_seen_at": now}})
            session.last_seen_at = now
        return session

    async def end(self, session_id: str) -> None:
        if session_id and len(session_id) <= MAX_SESSION_ID:
            await self._sessions.delete_one({"_id": token_hash(session_id)})

    async def end_all(self, user_id: str) -> int:
        """Sign the user out everywhere; the number of sessions ended."""
        result = await self._sessions.delete_many({"user_id": user_id})
        return int(result.deleted_count)

    async def _purge(self, now: datetime) -> None:
        # Expired sessions are refused anyway; removing them at each sign-in keeps the
        # collection as small as the number of people actually signed in.
        await self._sessions.delete_many(
            {
                "$or": [
                    {"last_seen_at": {"$lte": now - self.idle}},
                    {"created_at": {"$lte": now - self.lifetime}},
                ]
            }
        )
