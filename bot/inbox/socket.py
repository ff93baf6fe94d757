"""The agent socket `GET /ws/inbox`: live lists, offers, open conversations, typing.

Like the widget's socket, everything written goes through one writer task that reads a
bounded queue, so a history replay and live messages never interleave or repeat. A socket
whose queue overflows drops live events and, once it drains, sends its lists, the open
conversation and every message it missed from the store — nothing is lost, only merged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from aiohttp import WSCloseCode, web
from yarl import URL

from bot import keys
from bot.api.admins import actor
from bot.api.errors import json_error
from bot.auth.identity import SESSION_COOKIE, current_user
from bot.auth.users import User
from bot.bus import (
    EVERYTHING,
    AttachmentsAdded,
    ConversationChanged,
    ConversationRemoved,
    DeliveryChanged,
    Event,
    MessageCreated,
    OfferChanged,
    QueuePosition,
    Resync,
    Typing,
)
from bot.clock import CallableClock, LoopTimers, TimerHandle
from bot.frames import FrameError, error_frame, read_frames
from bot.inbox.frames import (
    activity_frame,
    attachments_frame,
    conversation_id,
    hello_frame,
    message_frame,
    presence_status,
)
from bot.inbox.package import handoff_package
from bot.inbox.snapshot import queues_frame
from bot.store import NotFound, new_id

log = logging.getLogger(__name__)

QUEUE_LIMIT: Final = 512
HISTORY_BATCH: Final = 500
MAX_FRAME_BYTES: Final = 64 * 1024
# How often an open inbox checks that its sign-in still holds (signed out elsewhere, disabled).
SESSION_CHECK: Final = timedelta(seconds=60)
SIGNED_OUT: Final = 4401  # close code: the page sends the agent to sign in again


@dataclass(frozen=True)
class _Open:
    conversation_id: str | None  # None: close the conversation view


@dataclass(frozen=True)
class _QueuesChanged:
    pass


@dataclass(frozen=True)
class _PresenceChanged:
    status: str


_Item = dict[str, Any] | Event | _Open | _QueuesChanged | _PresenceChanged


class InboxSocket:
    """One inbox tab: a reader (the handler's task) and a writer task."""

    def __init__(self, ws: web.WebSocketResponse, user: User, app: web.Application) -> None:
        self.ws = ws
        self.user = user
        self.agent_id = user.id
        self.app = app
        self.id = new_id()
        self.opened: str | None = None
        self.last_sent = 0  # highest seq of the open conversation written to the socket
        self.visible: set[str] = set()  # conversations in the lists this socket last sent
        self.sent_version = 0
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(QUEUE_LIMIT)
        self._lagged = False
        self._missed_open: _Open | None = None  # asked for while the queue was full

    # -- what the hub and the bus call (never blocking) --------------------------------

    def push(self, item: _Item) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            # Events can be read again from the store; what the agent asked for cannot.
            if isinstance(item, _Open):
                self._missed_open = item
            if not self._lagged:
                self._lagged = True
                log.warning("inbox socket %s lagging; will resync from the store", self.id)

    def on_event(self, event: Event) -> None:
        self.push(event)

    def queues_changed(self) -> None:
        self.push(_QueuesChanged())

    def presence_changed(self, status: str) -> None:
        self.push(_PresenceChanged(status))

    # -- writer ----------------------------------------------------------------------

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_json(frame)

    async def write_forever(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if self._lagged:
                    self._lagged = False
                    await self._resync()
                await self._write(item)
            except ConnectionResetError:
                return  # the socket is closing; the reader ends the connection
            except Exception:
                # The store hiccupped: resync with the next frame rather than lose the inbox.
                log.exception("inbox socket %s could not send %s", self.id, type(item).__name__)
                self._lagged = True

    async def _write(self, item: _Item) -> None:
        if isinstance(item, dict):
            await self._send(item)
        elif isinstance(item, _Open):
            await self._open(item.conversation_id)
        elif isinstance(item, _QueuesChanged):
            await self._send_queues()
        elif isinstance(item, _PresenceChanged):
            await self._send({"type": "presence", "status": item.status})
        elif isinstance(item, MessageCreated):
            await self._on_message(item)
        elif isinstance(item, Typing):
            await self._on_typing(item)
        elif isinstance(item, OfferChanged):
            await self._on_offer(item)
        elif isinstance(item, DeliveryChanged):
            message = item.message
            if message.conversation_id == self.opened:
                await self._send(
                    {
                        "type": "delivery",
                        "conversation_id": message.conversation_id,
                        "seq": message.seq,
                        "delivery": message.delivery,
                        "delivery_error": message.delivery_error,
                    }
                )
        elif isinstance(item, AttachmentsAdded):
            if item.message.conversation_id == self.opened:
                await self._send(attachments_frame(item.message))
        elif isinstance(item, ConversationChanged | QueuePosition):
            changed = item.conversation.id if isinstance(item, ConversationChanged) else item.conversation_id
            if changed == self.opened:
                await self._send_package()
        elif isinstance(item, Resync):  # events from other processes may have been missed
            await self._resync()
        elif isinstance(item, ConversationRemoved) and item.conversation_id == self.opened:
            self.opened, self.last_sent = None, 0  # erased: nothing of it may stay on screen
            await self._send({"type": "conversation_removed", "conversation_id": item.conversation_id})

    async def _resync(self) -> None:
        presence = self.app[keys.HANDOFFS].dispatcher.presence(self.agent_id)
        if presence != "offline":
            await self._send({"type": "presence", "status": presence})
        await self._send_queues(force=True)
        missed, self._missed_open = self._missed_open, None
        if missed is not None:
            await self._open(missed.conversation_id)
        elif self.opened is not None:
            await self._send_package()
            await self._replay()

    async def _send_queues(self, *, force: bool = False) -> None:
        queues = await self.app[keys.INBOX_HUB].current()
        if queues.version == self.sent_version and not force:
            return  # several changes, one snapshot: this one is already on its way
        offers = self.app[keys.HANDOFFS].dispatcher.offers_for(self.agent_id)
        frame = queues_frame(queues, self.user, offers, self.app[keys.CLOCK]())
        self.visible = {c["id"] for c in (*frame["waiting"], *frame["mine"], *(frame["all_open"] or ()))}
        self.sent_version = queues.version
        await self._send(frame)

    async def _package(self, conv_id: str) -> dict[str, Any]:
        store = self.app[keys.STORE]
        conv = await store.get_conversation(conv_id)
        lead = await store.get_lead(conv.lead_id)
        dispatcher = self.app[keys.HANDOFFS].dispatcher
        offer = next((w.offer for w in dispatcher.waiting() if w.conversation_id == conv_id), None)
        queues = await self.app[keys.INBOX_HUB].current()
        return handoff_package(
            conv,
            lead,
            await self.app[keys.FLOWS].pinned(conv.flow),
            user=self.user,
            names=queues.names,
            position=dispatcher.position(conv_id),
            offer=offer,
            now=self.app[keys.CLOCK](),
        )

    async def _send_package(self) -> None:
        if self.opened is None:
            return
        try:
            package = await self._package(self.opened)
        except NotFound:
            return  # its lead was merged a moment ago; the next change brings it
        await self._send({"type": "conversation", "conversation": package})

    async def _open(self, conv_id: str | None) -> None:
        if conv_id is None:
            self.opened, self.last_sent = None, 0
            return
        try:
            package = await self._package(conv_id)
        except NotFound:
            await self._send(error_frame("not_found", f"conversation {conv_id} not found"))
            return
        self.opened, self.last_sent = conv_id, 0
        # Recorded once per opening: the live updates that follow are not reads of their own.
        await self.app[keys.ACCESS_LOG].record(
            "conversation.viewed", actor=actor(self.user), conversation_id=conv_id
        )
        await self._send({"type": "conversation", "conversation": package})
        await self._replay()

    async def _replay(self) -> None:
        """The open conversation's messages after the last one sent, private notes included."""
        assert self.opened is not None
        store = self.app[keys.STORE]
        while True:
            batch = await store.messages_after(self.opened, self.last_sent, limit=HISTORY_BATCH)
            for message in batch:
                await self._send(message_frame(message))
                self.last_sent = message.seq
            if len(batch) < HISTORY_BATCH:
                return

    async def _on_message(self, event: MessageCreated) -> None:
        message = event.message
        if message.conversation_id == self.opened:
            if message.seq > self.last_sent:
                self.last_sent = message.seq
                await self._send(message_frame(message))
        elif message.conversation_id in self.visible:
            await self._send(activity_frame(message))

    async def _on_typing(self, event: Typing) -> None:
        if event.origin == self.id:
            return
        shown = event.conversation_id == self.opened or (
            event.sender == "visitor" and event.conversation_id in self.visible
        )
        if shown:
            await self._send(
                {
                    "type": "typing",
                    "conversation_id": event.conversation_id,
                    "from": event.sender,
                    "author": event.author,
                }
            )

    async def _on_offer(self, event: OfferChanged) -> None:
        if event.agent_id != self.agent_id:
            return
        if event.ended is None:
            live = self.app[keys.HANDOFFS].dispatcher.offers_for(self.agent_id)
            if not any(o.conversation_id == event.conversation_id for o in live):
                return  # it ended while this frame waited in line; its end follows
        await self._send(
            {
                "type": "offer",
                "conversation_id": event.conversation_id,
                "expires_at": event.expires_at.isoformat(),
                "ended": event.ended,
            }
        )
        if event.conversation_id == self.opened:
            await self._send_package()  # Accept/Decline come and go with the offer

    # -- reader ----------------------------------------------------------------------

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "open":
            if "conversation_id" not in frame:
                raise FrameError(
                    "bad_frame", "open needs conversation_id (null closes the open conversation)"
                )
            self.push(_Open(None if frame["conversation_id"] is None else conversation_id(frame)))
        elif kind == "typing":
            await self._typing(conversation_id(frame))
        elif kind == "presence":
            status = presence_status(frame)
            self.app[keys.HANDOFFS].set_presence(self.agent_id, status)
            self.app[keys.INBOX_HUB].presence_changed(self.agent_id, status)
        else:
            raise FrameError(
                "unknown_type", f"unknown frame type {kind!r}; expected open, typing or presence"
            )

    async def _typing(self, conv_id: str) -> None:
        try:
            conv = await self.app[keys.STORE].get_conversation(conv_id)
        except NotFound:
            raise FrameError("not_found", f"conversation {conv_id} not found") from None
        owns = conv.mode == "human" and (conv.agent_id == self.agent_id or self.user.acts_as("admin"))
        if not owns:
            raise FrameError("not_owner", "the visitor sees you typing only in a conversation you own")
        self.app[keys.CONVERSATIONS].typing(conv_id, "agent", origin=self.id, author=self.user.name)

    async def read_forever(self) -> None:
        await read_frames(self.ws, self.handle, self.push)


class SessionWatch:
    """Closes the socket once its sign-in no longer holds: signed out in another tab, expired,
    or the account was disabled. Checked on the app's timers, so tests move time instead."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        app = request.app
        self.app = app
        self.ws = ws
        self.session_id = request.cookies.get(SESSION_COOKIE, "")
        self.timers = app[keys.TIMERS] or LoopTimers(CallableClock(app[keys.CLOCK]))
        self._handle: TimerHandle | None = None
        self._check: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._handle = self.timers.call_at(self.app[keys.CLOCK]() + SESSION_CHECK, self._due)

    def _due(self) -> None:
        self._check = asyncio.get_running_loop().create_task(self._verify())

    async def _verify(self) -> None:
        try:
            session = await self.app[keys.SESSIONS].resolve(self.session_id)
            user = await self.app[keys.USERS].get(session.user_id) if session is not None else None
        except Exception:
            log.exception("could not check the sign-in of an inbox socket; trying again later")
            self.start()
            return
        if user is None or user.disabled or not user.acts_as("agent"):
            await self.ws.close(code=SIGNED_OUT, message=b"signed out")
            return
        self.start()

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self._check is not None and self._check is not asyncio.current_task():
            self._check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._check


def own_origin(request: web.Request) -> bool:
    """The inbox is opened from this server's pages only (no other site, unlike the widget)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: browsers always send Origin on websocket requests
    own = {f"{request.scheme}://{request.host}"}
    public_url = request.app[keys.SETTINGS].public_url
    if public_url:
        own.add(str(URL(public_url).origin()))
    return origin.rstrip("/") in own


async def inbox_socket(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    if user is None:
        return json_error(401, "sign in to the inbox first")
    if not user.acts_as("agent"):
        return json_error(403, f"the inbox needs the agent role; you are signed in as {user.role}")
    if not own_origin(request):
        return json_error(403, "the inbox socket opens from this server's pages only", "origin_not_allowed")

    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    app = request.app
    app[keys.SOCKETS].add(ws)
    handoffs, hub = app[keys.HANDOFFS], app[keys.INBOX_HUB]
    inbox = InboxSocket(ws, user, app)
    watch = SessionWatch(request, ws)
    await handoffs.agent_connected(user)
    # No await from here to the hello: it holds exactly the offers made before the subscription.
    subscription = app[keys.BUS].subscribe(EVERYTHING, inbox.on_event)
    dispatcher = handoffs.dispatcher
    inbox.push(
        hello_frame(user, dispatcher.presence(user.id), dispatcher.offers_for(user.id), app[keys.CLOCK]())
    )
    inbox.push(_QueuesChanged())
    hub.join(inbox)
    writer = asyncio.create_task(inbox.write_forever(), name=f"inbox-writer:{inbox.id}")
    watch.start()
    try:
        await inbox.read_forever()
    finally:
        await watch.stop()
        subscription.close()
        hub.leave(inbox)
        handoffs.agent_disconnected(user.id)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await writer
        app[keys.SOCKETS].discard(ws)
        if not ws.closed:
            await ws.close(code=WSCloseCode.GOING_AWAY)
    return ws
