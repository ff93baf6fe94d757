"""Webhook endpoints: where lead events go, kept in the store's `webhook_endpoints` collection.

`{_id, url, description, events, active, mapping: {preset, overrides}, secret, previous_secret,
previous_secret_until, created_at, updated_at}`. The secret is made here, never chosen by a
person; after a rotation the previous one still signs (alongside the new one) for
`ROTATION_GRACE`, so receivers can switch without dropping a delivery.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from pymongo import ASCENDING, ReturnDocument

from bot.lead_events import WEBHOOK_KINDS
from bot.store import NotFound, Store, new_id
from bot.webhooks.mapping import FieldMapping, MappingInvalid, parse_mapping

ROTATION_GRACE: Final = timedelta(hours=24)
MAX_URL_CHARS: Final = 2000
MAX_DESCRIPTION_CHARS: Final = 200
FIELDS: Final = ("url", "description", "events", "active", "mapping")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    secret: str
    description: str = ""
    events: tuple[str, ...] = ()
    active: bool = True
    mapping: FieldMapping = field(default_factory=FieldMapping)
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            keys.append(self.previous_secret)
        return keys

    def as_json(self) -> dict[str, Any]:
        """For admins; the secret has its own endpoint (`GET …/secret`)."""
        return {
            "id": self.id,
            "url": self.url,
            "description": self.description,
            "events": list(self.events),
            "active": self.active,
            "mapping": self.mapping.as_json(),
            "previous_secret_until": _iso(self.previous_secret_until),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _endpoint(doc: Mapping[str, Any]) -> Endpoint:
    return Endpoint(
        id=doc["_id"],
        url=doc["url"],
        secret=doc["secret"],
        description=doc.get("description", ""),
        events=tuple(doc.get("events", ())),
        active=bool(doc.get("active", True)),
        mapping=parse_mapping(doc.get("mapping")),
        previous_secret=doc.get("previous_secret"),
        previous_secret_until=doc.get("previous_secret_until"),
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
    )


# -- an admin's input --------------------------------------------------------------------


class EndpointInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_url(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise EndpointInvalid("url", "the url is required, like https://crm.example.com/leadbot")
    url = raw.strip()
    if len(url) > MAX_URL_CHARS:
        raise EndpointInvalid("url", f"the url is at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointInvalid("url", f"the url is not valid: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise EndpointInvalid("url", "the url must start with https:// (or http://)")
    if not parts.hostname:
        raise EndpointInvalid("url", "the url has no host name")
    if parts.username is not None or parts.password is not None:
        raise EndpointInvalid(
            "url", "put no user name or password in the url: receivers check the Leadbot-Signature instead"
        )
    if parts.fragment:
        raise EndpointInvalid("url", "the url must not have a #fragment (it is never sent)")
    if port == 0:
        raise EndpointInvalid("url", "the url's port must be 1 to 65535")
    if any(c.isspace() for c in url):
        raise EndpointInvalid("url", "the url must not contain spaces")
    return url


def _events(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise EndpointInvalid("events", f"subscribe to at least one event: {', '.join(WEBHOOK_KINDS)}")
    unknown = [kind for kind in raw if kind not in WEBHOOK_KINDS]
    if unknown:
        raise EndpointInvalid(
            "events", f"unknown event {unknown[0]!r}; the events are {', '.join(WEBHOOK_KINDS)}"
        )
    return tuple(kind for kind in WEBHOOK_KINDS if kind in raw)  # in the documented order, once each


def parse_input(raw: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The fields an admin sent, checked; `partial` for an update (only what is given changes)."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise EndpointInvalid(unknown[0], f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    out: dict[str, Any] = {}
    if "url" in raw or not partial:
        out["url"] = check_url(raw.get("url"))
    if "description" in raw:
        description = raw["description"] if raw["description"] is not None else ""
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
            raise EndpointInvalid(
                "description", f"the description is text of at most {MAX_DESCRIPTION_CHARS} characters"
            )
        out["description"] = description.strip()
    if "events" in raw or not partial:
        out["events"] = list(_events(raw.get("events")))
    if "active" in raw:
        if not isinstance(raw["active"], bool):
            raise EndpointInvalid("active", "active is true or false")
        out["active"] = raw["active"]
    if "mapping" in raw:
        try:
            out["mapping"] = parse_mapping(raw["mapping"]).as_json()
        except MappingInvalid as exc:
            raise EndpointInvalid(exc.field, exc.message) from None
    return out


# -- the collection ----------------------------------------------------------------------


class Endpoints:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._docs = store.collection("webhook_endpoints")
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._docs.create_index([("active", ASCENDING), ("events", ASCENDING)], name="by_event")

    async def all(self) -> list[Endpoint]:
        return [_endpoint(doc) async for doc in self._docs.find({}).sort([("created_at", ASCENDING)])]

    async def get(self, endpoint_id: str) -> Endpoint:
        doc = await self._docs.find_one({"_id": endpoint_id})
        if doc is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found")
        return _endpoint(doc)

    async def find(self, endpoint_id: str) -> Endpoint | None:
        doc = await self._docs.find_one({"_id": endpoint_id})
        return None if doc is None else _endpoint(doc)

    async def subscribed(self, kind: str) -> list[Endpoint]:
        """The active endpoints that want events of `kind`."""
        return [_endpoint(doc) async for doc in self._docs.find({"active": True, "events": kind})]

    async def create(self, fields: Mapping[str, Any]) -> Endpoint:
        now = self._clock()
        doc = {
            "_id": new_id(),
            "description": "",
            "active": True,
            "mapping": FieldMapping().as_json(),
            **fields,
            "secret": new_secret(),
            "previous_secret": None,
            "previous_secret_until": None,
            "created_at": now,
            "updated_at": now,
        }
        await self._docs.insert_one(doc)
        return _endpoint(doc)

    async def update(self, endpoint_id: str, changes: Mapping[str, Any]) -> tuple[Endpoint, Endpoint]:
        """(before, after)."""
        before = await self.get(endpoint_id)
        doc = await self._docs.find_one_and_update(
            {"_id": endpoint_id},
            {"$set": {**changes, "updated_at": self._clock()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found")
        return before, _endpoint(doc)

    async def rotate(self, endpoint_id: str) -> Endpoint:
        """A new secret; the old one keeps signing alongside it for ROTATION_GRACE."""
        current = await self.get(endpoint_id)
        now = self._clock()
        doc = await self._docs.find_one_and_update(
            {"_id": endpoint_id, "secret": current.secret},  # two rotations at once: one wins
            {
                "$set": {
                    "secret": new_secret(),
                    "previous_secret": current.secret,
                    "previous_secret_until": now + ROTATION_GRACE,
                    "updated_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _endpoint(doc) if doc is not None else await self.get(endpoint_id)

    async def delete(self, endpoint_id: str) -> Endpoint:
        endpoint = await self.get(endpoint_id)
        await self._docs.delete_one({"_id": endpoint_id})
        return endpoint
