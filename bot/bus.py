"""Events and the in-process bus that fans them out to sockets.

The store is the source of truth; the bus only wakes listeners up. A listener that
falls behind catches up by reading the store ("everything after seq N"), so a slow
socket never loses a message. (A Redis bridge carries events between processes.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.models import Conversation, Lead, Message, Sender


@dataclass(frozen=True)
class MessageCreated:
    message: Message
    origin: str | None = None  # the socket that sent it, which already has its ack


@dataclass(frozen=True)
class Typing:
    conversation_id: str
    sender: Sender
    origin: str | None = None
    author: str | None = None  # the agent's display name


@dataclass(frozen=True)
class ReplyDelta:
    """A piece of the bot's reply as the model writes it (LLM mode). The stored `message` that
    follows is the reply; `reset` clears what the pieces showed (a retry, or the offline reply)."""

    conversation_id: str
    text: str
    reset: bool = False


@dataclass(frozen=True)
class Resync:
    """Events may have been missed (the link to other processes was down): listeners read the
    store again. `conversation_id` is "*" for every conversation."""

    conversation_id: str


@dataclass(frozen=True)
class QueuePosition:
    """A waiting conversation's place in its team's queue (None once it left the queue)."""

    conversation_id: str
    team: str | None
    position: int | None


@dataclass(frozen=True)
class OfferChanged:
    """A conversation was offered to an agent, or the offer ended (`ended` says why)."""

    conversation_id: str
    agent_id: str
    expires_at: datetime
    ended: str | None = None  # None: offered; "expired" | "declined" | "taken" | "removed" | "agent_left"


@dataclass(frozen=True)
class ConversationChanged:
    conversation: Conversation
    lead: Lead | None = None


@dataclass(frozen=True)
class DeliveryChanged:
    """An outbound message got further (sent, delivered, read) or failed, as its provider reports."""

    message: Message


@dataclass(frozen=True)
class AttachmentsAdded:
    """Files were stored for a message already published (media are fetched after the ack)."""

    message: Message


@dataclass(frozen=True)
class ConversationRemoved:
    """The conversation was erased (its lead's data removed, or its retention ran out): sockets
    showing it let go of it. Nothing of it is left to read from the store."""

    conversation_id: str


Event = (
    MessageCreated
    | Typing
    | ConversationChanged
    | QueuePosition
    | OfferChanged
    | DeliveryChanged
    | AttachmentsAdded
    | ReplyDelta
    | Resync
    | ConversationRemoved
)

# Inbox sockets listen to every conversation at once.
EVERYTHING = "*"


def topic_of(event: Event) -> str:
    if isinstance(event, MessageCreated | DeliveryChanged | AttachmentsAdded):
        return event.message.conversation_id
    if isinstance(event, ConversationChanged):
        return event.conversation.id
    return event.conversation_id


Listener = Callable[[Event], None]


class Subscription:
    def __init__(self, bus: Bus, topic: str, listener: Listener) -> None:
        self._bus = bus
        self.topic = topic
        self.listener = listener

    def close(self) -> None:
        self._bus._unsubscribe(self)


class Bus:
    """Publish events by conversation id (or "inbox"); listeners get them in publish order.

    Listeners are called synchronously and must not block: a socket puts the event on
    its own bounded queue and, when that is full, catches up from the store instead.
    """

    def __init__(self) -> None:
        self._subs: defaultdict[str, set[Subscription]] = defaultdict(set)
        # Called with every event published here (not those relayed in from other processes):
        # the Redis bridge (bot/bus_bridge.py) sends them on.
        self.relays: list[Listener] = []
        # Called with every event relayed in from another process, after this process's listeners:
        # state one process keeps for all (the queue a dispatcher offers from) follows the others.
        self.remote_listeners: list[Listener] = []

    def subscribe(self, topic: str, listener: Listener) -> Subscription:
        sub = Subscription(self, topic, listener)
        self._subs[topic].add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.topic]

    def publish(self, event: Event, *, relayed: bool = False) -> None:
        """Deliver `event` to this process's listeners; `relayed` when it came from another
        process (it is not sent on again)."""
        for topic in dict.fromkeys((topic_of(event), EVERYTHING)):  # once each, for "*" too
            for sub in tuple(self._subs.get(topic, ())):
                sub.listener(event)
        if not relayed:
            for relay in self.relays:
                relay(event)
        else:
            for listener in self.remote_listeners:
                listener(event)
