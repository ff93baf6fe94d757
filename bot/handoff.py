"""From the bot's hand-off to an agent: routing, the queue, offers and presence.

`Handoffs` is the glue around the in-memory `Dispatcher`: it routes a handed-off
conversation to a team (`bot.routing`), stores the team and queue time on the
conversation (the store stays the source of truth, so a restart rebuilds the queue),
turns the dispatcher's offers and queue positions into bus events for inbox sockets and
the visitor's widget, and keeps each agent's load and presence current.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.bus import ConversationChanged, OfferChanged, QueuePosition
from bot.clock import Clock, Timers
from bot.conversations import Conversations
from bot.dispatch import AgentInfo, Dispatcher, Offer, WithdrawReason
from bot.lead_changes import handed_off
from bot.models import Conversation, Lead
from bot.routing import route

if TYPE_CHECKING:
    from bot.auth.users import User, Users
    from bot.ownership import Agent


class Handoffs:
    def __init__(
        self, *, convs: Conversations, users: Users, clock: Clock, timers: Timers, offer_timeout: float
    ) -> None:
        self.convs = convs
        self.store = convs.store
        self.bus = convs.bus
        self.users = users
        self.clock = clock
        self.dispatcher = Dispatcher(clock=clock, timers=timers, offer_timeout=offer_timeout, listener=self)
        self.bus.remote_listeners.append(self._follow_other_process)

    async def restore(self) -> None:
        """Rebuild the queue from the store after a start."""
        for conv in await self.store.waiting():
            team = conv.team or (await self.convs.flows.pinned(conv.flow)).routing.default_team
            self.dispatcher.enqueue(conv.id, team, conv.queued_at or conv.updated_at)

    async def _known_teams(self) -> set[str]:
        return {team for user in await self.users.list() if not user.disabled for team in user.teams}

    def _follow_other_process(self, event: object) -> None:
        """Another process queued, claimed or closed a conversation: this process's queue follows,
        so its own agents get offers for conversations handed off anywhere. Two processes may
        offer one conversation to two agents at once; the store lets only one claim it, and the
        other offer ends when that claim arrives here."""
        if not isinstance(event, ConversationChanged):
            return
        conv = event.conversation
        if conv.mode == "pending_human" and conv.team and conv.queued_at is not None:
            self.dispatcher.enqueue(conv.id, conv.team, conv.queued_at)
        elif conv.mode != "pending_human":
            self.dispatcher.remove(conv.id)

    def close(self) -> None:
        """Stop following other processes (the app is stopping)."""
        if self._follow_other_process in self.bus.remote_listeners:
            self.bus.remote_listeners.remove(self._follow_other_process)

    # -- the bot handed a conversation off (Conversations.on_handoff) ------------------

    async def hand_off(self, conv: Conversation, lead: Lead) -> None:
        flow = await self.convs.flows.pinned(conv.flow)
        decided = route(lead.slots, lead.score, flow, await self._known_teams())
        now = self.clock.now()
        queued = await self.store.transition(
            conv.id,
            expect={"mode": "pending_human"},
            changes={
                "team": decided.team,
                "routing_reasons": list(decided.reasons),
                "queued_at": now,
                "handed_off_at": now,  # stays after the claim clears queued_at (analytics)
            },
        )
        if queued is None:  # someone claimed it in the meantime
            return
        self.bus.publish(ConversationChanged(queued, lead))
        await self.queued(queued)
        await self.convs.lead_events.emit(handed_off(lead, queued, self.clock.now()))

    # -- ownership changes (bot.ownership.OwnershipListener) ---------------------------

    async def queued(self, conv: Conversation) -> None:
        team = conv.team or (await self.convs.flows.pinned(conv.flow)).routing.default_team
        self.dispatcher.enqueue(conv.id, team, conv.queued_at or self.clock.now())

    async def claimed(self, conv: Conversation, agent_id: str) -> None:
        self.dispatcher.accept(conv.id, agent_id)
        self.bus.publish(QueuePosition(conv.id, conv.team, None))
        await self.load_changed(agent_id)

    async def left_queue(self, conv: Conversation) -> None:
        self.dispatcher.remove(conv.id)
        self.bus.publish(QueuePosition(conv.id, conv.team, None))

    async def load_changed(self, agent_id: str) -> None:
        self.dispatcher.set_load(agent_id, await self.store.open_count(agent_id))

    # -- agents' inbox sockets --------------------------------------------------------

    async def agent_connected(self, user: User) -> None:
        info = AgentInfo(id=user.id, name=user.name, teams=frozenset(user.teams), capacity=user.capacity)
        self.dispatcher.connect(info, await self.store.open_count(user.id))

    def agent_disconnected(self, agent_id: str) -> None:
        self.dispatcher.disconnect(agent_id)

    def set_presence(self, agent_id: str, status: str) -> None:
        if status in ("online", "away"):
            self.dispatcher.set_presence(agent_id, status)  # type: ignore[arg-type]

    async def decline(self, conv_id: str, agent: Agent) -> bool:
        return self.dispatcher.decline(conv_id, agent.id)

    # -- the dispatcher's events (bot.dispatch.DispatchListener) -----------------------

    def offered(self, offer: Offer) -> None:
        self.bus.publish(OfferChanged(offer.conversation_id, offer.agent_id, offer.expires_at))

    def offer_withdrawn(self, offer: Offer, reason: WithdrawReason) -> None:
        self.bus.publish(OfferChanged(offer.conversation_id, offer.agent_id, offer.expires_at, ended=reason))

    def positions_changed(self, team: str, positions: Mapping[str, int]) -> None:
        for conv_id, position in positions.items():
            self.bus.publish(QueuePosition(conv_id, team, position))
