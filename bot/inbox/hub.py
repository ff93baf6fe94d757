"""The hub: what every inbox socket shares — one snapshot of the lists, rebuilt once per burst.

A handoff publishes several events within a few milliseconds (the conversation changed, an
offer, a queue position). Each marks the snapshot stale; one rebuild runs a moment after the
first of them, then every socket is told to send its agent's cut of it. However many events
and sockets, the store is read once per burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from bot.auth.users import Users
from bot.bus import (
    EVERYTHING,
    Bus,
    ConversationChanged,
    ConversationRemoved,
    Event,
    OfferChanged,
    QueuePosition,
    Resync,
    Subscription,
)
from bot.flowbook import FlowBook
from bot.handoff import Handoffs
from bot.inbox.snapshot import Queues, build_queues
from bot.store import Store

log = logging.getLogger(__name__)

# Long enough to gather one burst of events, short enough that nobody notices.
COALESCE_SECONDS = 0.1


class Member(Protocol):
    """An inbox socket, as the hub sees it."""

    agent_id: str

    def queues_changed(self) -> None: ...

    def presence_changed(self, status: str) -> None: ...


class InboxHub:
    def __init__(
        self,
        *,
        store: Store,
        users: Users,
        flows: FlowBook,
        bus: Bus,
        handoffs: Callable[[], Handoffs],
        coalesce_seconds: float = COALESCE_SECONDS,
    ) -> None:
        self._store = store
        self._users = users
        self._flows = flows
        self._bus = bus
        # Read when needed: the handoff services start after the inbox's.
        self._handoffs = handoffs
        self._coalesce = coalesce_seconds
        self._members: set[Member] = set()
        self._latest: Queues | None = None
        self._stale = True
        self._version = 0
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._subscription = self._bus.subscribe(EVERYTHING, self._on_event)

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pending

    # -- members ---------------------------------------------------------------------

    def join(self, member: Member) -> None:
        self._members.add(member)
        self.changed()  # the agent's presence shows in everybody's list of agents

    def leave(self, member: Member) -> None:
        self._members.discard(member)
        self.changed()

    def presence_changed(self, agent_id: str, status: str) -> None:
        """Every tab of the agent shows the new status; every list shows it too."""
        for member in tuple(self._members):
            if member.agent_id == agent_id:
                member.presence_changed(status)
        self.changed()

    # -- the snapshot ----------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(
            event, ConversationChanged | ConversationRemoved | QueuePosition | OfferChanged | Resync
        ):
            self.changed()

    def changed(self) -> None:
        """The lists may have changed: rebuild soon, once, and tell every socket."""
        self._stale = True
        if self._members and self._pending is None:
            self._pending = asyncio.get_running_loop().create_task(self._rebuild_soon())

    async def _rebuild_soon(self) -> None:
        try:
            await asyncio.sleep(self._coalesce)
        finally:
            self._pending = None  # from here on, a change schedules the next rebuild
        try:
            await self.current()
        except Exception:
            # Sockets keep the last lists; the next change tries again.
            log.exception("inbox lists could not be rebuilt")
            return
        for member in tuple(self._members):
            member.queues_changed()

    async def current(self) -> Queues:
        """The latest lists, rebuilt first if anything changed since."""
        async with self._lock:
            if self._stale or self._latest is None:
                self._stale = False  # a change during the build marks it stale again
                try:
                    latest = await build_queues(
                        version=self._version + 1,
                        store=self._store,
                        users=self._users,
                        flows=self._flows,
                        dispatcher=self._handoffs().dispatcher,
                    )
                except BaseException:
                    self._stale = True
                    raise
                self._version += 1
                self._latest = latest
            return self._latest
