"""Events between processes: every event published on this process's bus goes out on a Redis
channel, and every other process's events come in and are published here.

Redis pub/sub only wakes listeners up; MongoDB stays the source of truth. An event lost on the
way (Redis down, a slow subscriber) costs a delay, never data: widget sockets resume from the
store by `seq`, and when the bridge reconnects after a gap it publishes `Resync`, on which
inbox sockets rebuild their lists and conversations from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import types
import typing
from datetime import datetime
from typing import Any, Final, get_args, get_origin, get_type_hints

from pydantic import BaseModel

from bot import bus as events
from bot.bus import Bus, Event
from bot.redis_link import UNREACHABLE, RedisLink

log = logging.getLogger(__name__)

CHANNEL: Final = "leadbot:events"
# Events waiting to go out; beyond this (Redis slower than the process) new ones are dropped:
# other processes catch up from the store.
MAX_PENDING: Final = 10_000
STOP_SECONDS: Final = 2.0
EVENT_TYPES: Final[dict[str, type[Any]]] = {
    cls.__name__: cls
    for cls in (
        events.MessageCreated,
        events.Typing,
        events.QueuePosition,
        events.OfferChanged,
        events.ConversationChanged,
        events.DeliveryChanged,
        events.AttachmentsAdded,
        events.ReplyDelta,
        events.Resync,
        events.ConversationRemoved,
    )
}


def encode(event: Event, origin: str) -> str:
    fields = {}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, datetime):
            value = value.isoformat()
        fields[field.name] = value
    return json.dumps({"origin": origin, "type": type(event).__name__, "fields": fields})


def _value(kind: Any, raw: Any) -> Any:
    if raw is None:
        return None
    if get_origin(kind) in (typing.Union, types.UnionType):
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind.model_validate(raw)
    if kind is datetime:
        return datetime.fromisoformat(raw)
    return raw


def decode(text: str | bytes) -> tuple[str, Event]:
    """(origin, event) from a message of the channel; ValueError when it is not one."""
    data = json.loads(text)
    cls = EVENT_TYPES.get(data.get("type"))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    hints = get_type_hints(cls)
    fields = {name: _value(hints[name], raw) for name, raw in data["fields"].items() if name in hints}
    return str(data["origin"]), cls(**fields)


class BusBridge:
    def __init__(self, bus: Bus, link: RedisLink) -> None:
        self.bus = bus
        self.link = link
        self.origin = secrets.token_hex(8)  # this process, so its own events are not taken back in
        self._pending: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING)
        self._tasks: list[asyncio.Task[None]] = []
        self.relayed_in = 0
        self.dropped = 0

    def start(self) -> None:
        self.bus.relays.append(self._send_later)
        self._tasks = [
            asyncio.create_task(self._sender(), name="bus-bridge-out"),
            asyncio.create_task(self._receiver(), name="bus-bridge-in"),
        ]

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.bus.relays.remove(self._send_later)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a connection stuck in redis-py's cleanup must not hold up the shutdown.
            await asyncio.wait(self._tasks, timeout=STOP_SECONDS)

    def _send_later(self, event: Event) -> None:
        if isinstance(event, events.Resync) or not self.link.healthy:
            return  # a resync is local; while Redis is down, other processes catch up later
        try:
            self._pending.put_nowait(encode(event, self.origin))
        except asyncio.QueueFull:
            self.dropped += 1

    async def _sender(self) -> None:
        while True:
            message = await self._pending.get()

            async def send(client: Any, message: str = message) -> None:
                await client.publish(CHANNEL, message)

            await self.link.run(send)

    async def _receiver(self) -> None:
        """Listen for other processes' events; after any gap, reconnect and resync."""
        first = True
        while True:
            client = self.link.client
            if client is None:
                return
            if not self.link.healthy:
                await self._until_healthy()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                if not first:
                    self.bus.publish(events.Resync("*"), relayed=True)  # what was missed is in the store
                first = False
                async for message in pubsub.listen():
                    self._take(message.get("data"))
            except UNREACHABLE as exc:
                log.warning("event bridge lost redis: %s", exc)
                await self.link.ping()  # marks the link degraded
            finally:
                with contextlib.suppress(*UNREACHABLE, TimeoutError):
                    async with asyncio.timeout(STOP_SECONDS):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis ships it untyped

    async def _until_healthy(self) -> None:
        back = asyncio.Event()

        def watch(healthy: bool) -> None:
            if healthy:
                back.set()

        self.link.on_change(watch)
        if not self.link.healthy:
            await back.wait()

    def _take(self, data: Any) -> None:
        if not isinstance(data, bytes | str):
            return
        try:
            origin, event = decode(data)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("event bridge: ignored a message it cannot read: %s", exc)
            return
        if origin == self.origin:
            return
        self.relayed_in += 1
        self.bus.publish(event, relayed=True)
