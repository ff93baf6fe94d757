"""The web widget's channel: one websocket per open widget, `GET /ws/chat`.

Protocol (docs/protocol.md): the server says `hello`, then replays stored messages
after `after_seq` (a new conversation's greeting included); visitor `message` frames
are stored, then `ack`ed, and the bot's reply arrives as a `message` frame.

Everything written to the socket goes through one writer task, which reads the bus
and the store in seq order: replays and live events can never interleave out of order
or repeat, and a socket that fell behind catches up from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web

from bot import keys
from bot.attribution.touchpoints import Touchpoints
from bot.attribution.visits import read_visit
from bot.bus import (
    ConversationChanged,
    ConversationRemoved,
    Event,
    MessageCreated,
    QueuePosition,
    ReplyDelta,
    Typing,
)
from bot.conversations import Conversations
from bot.frames import UNAVAILABLE, UNAVAILABLE_TEXT, FrameError, error_frame, read_frames
from bot.models import Conversation, Inbound, Message
from bot.privacy.consent import (
    consent_frame,
    consent_missing,
    consent_offer,
    give_consent,
    keep_consent,
    require_consent,
)
from bot.rate_limits import RateLimiter, Rule
from bot.store import NotFound, StoreUnavailable, new_id
from channels.web_access import (
    LinkMaker,
    limited_frame,
    new_conversation_wait,
    origin_allowed,
    refuse_new_conversation,
    visitor_link,
)
from channels.web_upload import visitor_upload

log = logging.getLogger(__name__)

MAX_CLIENT_ID = 100
REMOVED = 4404  # close code: the conversation was erased
QUEUE_LIMIT = 512


def message_frame(message: Message, link: LinkMaker | None = None) -> dict[str, Any]:
    frame = {
        "type": "message",
        "seq": message.seq,
        "from": message.sender,
        "text": message.text,
        "expects": message.expects.model_dump() if message.expects else None,
        "author": message.author,
    }
    if message.attachments and link is not None:
        # Visitors open files by signed, expiring links: they have no account.
        frame["attachments"] = [
            {"name": a.filename, "type": a.content_type, "size": a.size, "url": link(a)}
            for a in message.attachments
        ]
    return frame


@dataclass(frozen=True)
class _Replay:
    after_seq: int


@dataclass(frozen=True)
class _Lagged:
    pass


_Item = dict[str, Any] | Event | _Replay | _Lagged


class ChatSocket:
    """One widget connection: a reader (this task) and a writer task."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        conv: Conversation,
        convs: Conversations,
        max_chars: int,
        link: LinkMaker | None = None,
        limits: RateLimiter | None = None,
        touchpoints: Touchpoints | None = None,
    ) -> None:
        self.link = link
        self.touchpoints = touchpoints  # None: visits are read and not kept
        self.limits = limits  # None: no limit on visitor messages
        self.ws = ws
        self.conv = conv
        self.convs = convs
        self.max_chars = max_chars
        self.id = new_id()
        self.last_sent = 0
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(QUEUE_LIMIT)
        self._lagged = False
        self._closing: asyncio.Task[bool] | None = None  # closing itself: its conversation was erased

    # -- writer ----------------------------------------------------------------------

    def push(self, item: _Item) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            # Too slow a reader: drop live events and catch up from the store later.
            if not self._lagged:
                self._lagged = True
                log.warning("socket %s lagging; will resume from the store", self.id)

    def on_event(self, event: Event) -> None:
        self.push(event)

    async def _replay(self, after_seq: int) -> None:
        self.last_sent = after_seq
        while True:
            batch = await self.convs.store.messages_after(self.conv.id, self.last_sent, limit=500)
            for message in batch:
                if not message.private:
                    await self.ws.send_json(message_frame(message, self.link))
                self.last_sent = message.seq
            if len(batch) < 500:
                return

    async def write_forever(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._write(item)
            except StoreUnavailable:
                # Reading the store failed (a replay): say so, and catch up with the next item.
                self._lagged = True
                await self.ws.send_json(error_frame(UNAVAILABLE, UNAVAILABLE_TEXT))

    async def _write(self, item: _Item) -> None:
        """One queued item to the socket (a store outage is the caller's to report)."""
        if self._lagged:
            self._lagged = False
            await self._replay(self.last_sent)
        if isinstance(item, dict):
            await self.ws.send_json(item)
        elif isinstance(item, _Replay):
            await self._replay(item.after_seq)
        elif isinstance(item, MessageCreated):
            message = item.message
            if message.seq <= self.last_sent:
                return
            if message.seq > self.last_sent + 1:
                # A gap: messages this process never heard of (written by another process,
                # their events lost on the way). The store has them, this one included.
                await self._replay(self.last_sent)
                return
            self.last_sent = message.seq
            if message.private:
                return
            if item.origin != self.id:  # the sender has its ack
                await self.ws.send_json(message_frame(message, self.link))
        elif isinstance(item, Typing):
            if item.origin != self.id and item.sender != "visitor":
                await self.ws.send_json({"type": "typing", "from": item.sender, "author": item.author})
        elif isinstance(item, QueuePosition):
            await self.ws.send_json({"type": "queue", "position": item.position, "team": item.team})
        elif isinstance(item, ReplyDelta):
            frame: dict[str, Any] = {"type": "delta", "text": item.text}
            if item.reset:
                frame["reset"] = True
            await self.ws.send_json(frame)
        elif isinstance(item, ConversationChanged):
            changed = keep_consent(self.conv, item.conversation)
            if self.conv.consent is None and changed.consent is not None:  # accepted in another tab
                await self.ws.send_json(consent_frame(changed.consent))
            self.conv = changed
        elif isinstance(item, ConversationRemoved):
            # Erased (docs/privacy.md): the widget forgets it; a new conversation starts if it reconnects.
            await self.ws.send_json(error_frame("not_found", "this conversation was removed"))
            self._closing = asyncio.create_task(self.ws.close(code=REMOVED, message=b"conversation removed"))

    # -- reader ----------------------------------------------------------------------

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            await self._on_message(frame)
        elif kind == "typing":
            self.convs.typing(self.conv.id, "visitor", origin=self.id)
        elif kind == "consent":
            self.conv = await give_consent(self.convs, self.conv)
            assert self.conv.consent is not None
            self.push(consent_frame(self.conv.consent))
        elif kind == "visit":
            visit = read_visit(frame)  # bad_frame when malformed
            # Kept once per visit id (the widget sends them after every hello); not before consent.
            if self.touchpoints is not None and not await consent_missing(self.convs, self.conv):
                await self.touchpoints.record_visit(self.conv.id, visit)
        elif kind == "resume":
            after = frame.get("after_seq")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                raise FrameError("bad_frame", "resume needs after_seq, a whole number ≥ 0")
            self.push(_Replay(after))
        else:
            raise FrameError(
                "unknown_type",
                f"unknown frame type {kind!r}; expected message, typing, resume, consent or visit",
            )

    async def _on_message(self, frame: dict[str, Any]) -> None:
        client_id = frame.get("id")
        if isinstance(client_id, int) and not isinstance(client_id, bool):
            client_id = str(client_id)
        if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID:
            raise FrameError("bad_frame", f"message needs an id: a string of 1 to {MAX_CLIENT_ID} characters")
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("bad_frame", "message needs a non-empty text", client_id)
        if len(text) > self.max_chars:
            raise FrameError("too_long", f"message is longer than {self.max_chars} characters", client_id)
        self.conv = await require_consent(self.convs, self.conv, client_id)  # nothing stored without it
        wait = await self.limits.hit(Rule.MESSAGES, self.conv.id) if self.limits else None
        if wait is not None:  # not stored: the client sends it again, same id, after the wait
            self.push(limited_frame("too many messages; send this one again later", wait, client_id))
            return
        inbound = Inbound(channel="web", conversation_id=self.conv.id, text=text.strip(), client_id=client_id)
        try:
            stored, _ = await self.convs.receive(inbound, origin=self.id)
        except NotFound:  # erased a moment ago (docs/privacy.md)
            raise FrameError("not_found", "this conversation was removed", client_id) from None
        self.push({"type": "ack", "id": client_id, "seq": stored.seq})

    async def read_forever(self) -> None:
        await read_frames(self.ws, self.handle, self.push)


def _after_seq(request: web.Request) -> int:
    raw = request.query.get("after_seq", "0")
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad_request", "message": "after_seq must be a whole number ≥ 0"}),
            content_type="application/json",
        )
    return value


async def chat_socket(request: web.Request) -> web.StreamResponse:
    if not origin_allowed(request):
        raise web.HTTPForbidden(
            text=json.dumps({"error": "origin_not_allowed", "message": "this origin may not open the chat"}),
            content_type="application/json",
        )
    after_seq = _after_seq(request)
    convs = request.app[keys.CONVERSATIONS]
    token = request.query.get("token") or None
    conv = await convs.resume(token) if token else None
    if conv is None:  # no token, or one we don't know: a new conversation
        wait = await new_conversation_wait(request)
        if wait is not None:
            return await refuse_new_conversation(request, wait)
        conv, token = await convs.start("web", flow_id=request.query.get("flow") or None)
        after_seq = 0
    assert token is not None
    hello: dict[str, Any] = {
        "type": "hello",
        "conversation_id": conv.id,
        "visitor_token": token,
        "last_seq": conv.last_seq,
    }
    consent = await consent_offer(convs, conv)
    if consent is not None:
        hello["consent"] = consent  # docs/protocol.md, "Consent"

    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=1 << 20)
    await ws.prepare(request)
    sockets = request.app[keys.SOCKETS]
    sockets.add(ws)
    chat = ChatSocket(
        ws,
        conv,
        convs,
        request.app[keys.SETTINGS].max_message_chars,
        visitor_link(request.app),
        request.app[keys.RATE_LIMITS],
        request.app[keys.TOUCHPOINTS],
    )
    subscription = convs.bus.subscribe(conv.id, chat.on_event)
    writer = asyncio.create_task(chat.write_forever(), name=f"ws-writer:{chat.id}")
    try:
        chat.push(hello)
        chat.push(_Replay(after_seq))
        with contextlib.suppress(NotFound, StoreUnavailable):  # answered on the next connect then
            await convs.ensure_answered(conv.id)
        await chat.read_forever()
    finally:
        subscription.close()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError, StoreUnavailable):
            await writer
        sockets.discard(ws)
    return ws


class WebChannel:
    name: ClassVar[str] = "web"

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ws/chat", chat_socket), web.post("/ws/chat/upload", visitor_upload)]

    async def send(self, conv: Conversation, msg: Message) -> str | None:
        # Widget sockets are subscribed to the bus, which already carries every message.
        return None
