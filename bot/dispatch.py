"""Offers and the waiting queue: which agent is offered which handed-off conversation, and when.

The dispatcher is synchronous, in memory and deterministic. It knows nothing of sockets or the
store: the glue tells it what happened (an agent's inbox connected, a conversation was handed
off, claimed or closed) and turns what it reports to its `DispatchListener` into frames and
stored fields. Time comes from an injected `Clock`; offer expiry runs on injected `Timers`.

Matching, run after every change:

- An agent is *available* for a team when online (connected and not away), a member of the team,
  and their open conversations plus pending offers are below their capacity.
- Waiting conversations are served oldest first (by `queued_at`, then by arrival). Each one
  without a live offer is offered to the available member of its team with the fewest open
  conversations plus pending offers; ties go to whoever was offered or assigned a conversation
  least recently, then by agent id.
- A conversation has at most one live offer. An offer ends when it is accepted, declined, expires
  after `offer_timeout` seconds, or its agent goes away, goes offline or leaves the team; then the
  conversation is offered again. An agent who declined it or let it expire is passed over for it
  until every other available member has been; after that, they may get it again.
- An offer stays live if its agent's load rises meanwhile (accepting is their call); the load
  only keeps new offers away.

Listener calls are made after the dispatcher's state is consistent, in the order the events
happened. A listener may call back into the dispatcher: such a call takes effect at once (its
return value and queries are current), but the listener is never re-entered; the events it causes
are delivered after the listener call returns, behind the ones already waiting, so nothing
arrives out of order. If a listener raises, the remaining events are still delivered and the
first error is raised afterwards.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.clock import Clock, TimerHandle, Timers

Presence = Literal["online", "away", "offline"]
WithdrawReason = Literal["expired", "declined", "taken", "removed", "agent_left"]


@dataclass(frozen=True)
class AgentInfo:
    id: str
    name: str
    teams: frozenset[str]
    capacity: int = 5  # how many open conversations the agent takes on at once

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError(f"capacity must not be negative, got {self.capacity}")


@dataclass(frozen=True)
class Offer:
    conversation_id: str
    agent_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Waiting:
    conversation_id: str
    team: str
    queued_at: datetime
    position: int  # 1-based place in its team's queue
    offer: Offer | None


class DispatchListener(Protocol):
    def offered(self, offer: Offer) -> None: ...

    def offer_withdrawn(self, offer: Offer, reason: WithdrawReason) -> None:
        """The offer is no longer valid: it `expired`, the agent `declined` it, another agent
        claimed the conversation (`taken`), it left the queue (`removed`), or the agent went
        away, offline or out of the team (`agent_left`). An accepted offer is not withdrawn."""
        ...

    def positions_changed(self, team: str, positions: Mapping[str, int]) -> None:
        """Conversation id -> 1-based place in `team`'s queue, for the conversations whose place
        changed or that just joined the queue. Conversations that left are not listed."""
        ...


@dataclass
class _Agent:
    info: AgentInfo
    open_conversations: int
    sockets: int = 1
    away: bool = False
    offered: set[str] = field(default_factory=set)  # conversation ids with a live offer
    last_chosen: int = 0  # when last offered or assigned a conversation, for round robin

    @property
    def presence(self) -> Presence:
        if self.sockets == 0:
            return "offline"
        return "away" if self.away else "online"

    @property
    def load(self) -> int:
        return self.open_conversations + len(self.offered)

    def available_for(self, team: str) -> bool:
        return self.presence == "online" and team in self.info.teams and self.load < self.info.capacity


@dataclass
class _Queued:
    conversation_id: str
    team: str
    queued_at: datetime
    arrival: int  # breaks ties between equal `queued_at`s
    offer: Offer | None = None
    expiry: TimerHandle | None = None
    passed_over_by: set[str] = field(default_factory=set)  # declined or let it expire, this round
    last_passed_over_by: str | None = None

    @property
    def order(self) -> tuple[datetime, int]:
        return (self.queued_at, self.arrival)


class Dispatcher:
    def __init__(
        self, *, clock: Clock, timers: Timers, offer_timeout: float, listener: DispatchListener
    ) -> None:
        if offer_timeout <= 0:
            raise ValueError(f"offer_timeout must be positive, got {offer_timeout}")
        self._clock = clock
        self._timers = timers
        self._offer_timeout = timedelta(seconds=offer_timeout)
        self._listener = listener
        self._agents: dict[str, _Agent] = {}
        self._queue: dict[str, _Queued] = {}
        self._arrivals = itertools.count(1)
        self._choices = itertools.count(1)
        self._reported_positions: dict[str, tuple[str, int]] = {}  # conversation -> (team, position)
        self._events: deque[Callable[[], None]] = deque()
        self._delivering = False

    # agents: presence comes from inbox sockets, and an agent may have several tabs open

    def connect(self, agent: AgentInfo, open_conversations: int) -> None:
        """One more inbox socket for `agent` (their details and load refreshed). The first makes
        them online; further tabs keep whatever presence they set."""
        _require_count(open_conversations)
        state = self._agents.get(agent.id)
        if state is None:
            self._agents[agent.id] = _Agent(agent, open_conversations)
        else:
            if state.sockets == 0:
                state.away = False
            state.sockets += 1
            state.info = agent
            state.open_conversations = open_conversations
        self._settle()

    def disconnect(self, agent_id: str) -> None:
        """One inbox socket fewer; with none left the agent is offline and loses their offers."""
        state = self._agents.get(agent_id)
        if state is None or state.sockets == 0:
            return
        state.sockets -= 1
        self._settle()

    def set_presence(self, agent_id: str, status: Literal["online", "away"]) -> None:
        """Set by a connected agent; going away withdraws their offers. Ignored while offline."""
        if status not in ("online", "away"):
            raise ValueError(f"presence is online or away, got {status!r}")
        state = self._agents.get(agent_id)
        if state is None or state.sockets == 0:
            return
        state.away = status == "away"
        self._settle()

    def set_load(self, agent_id: str, open_conversations: int) -> None:
        """The agent's open conversations, after a claim, close, release or transfer."""
        _require_count(open_conversations)
        state = self._agents.get(agent_id)
        if state is None:
            return  # their next connect brings the count
        state.open_conversations = open_conversations
        self._settle()

    # conversations

    def enqueue(self, conversation_id: str, team: str, queued_at: datetime) -> None:
        """Queue a handed-off conversation for `team`. Queuing it again as it is changes nothing
        (the glue may replay the stored queue); with another team or time it is queued anew."""
        if queued_at.tzinfo is None or queued_at.utcoffset() is None:
            raise ValueError(f"queued_at must be timezone-aware, got {queued_at!r}")
        queued = self._queue.get(conversation_id)
        if queued is not None:
            if (queued.team, queued.queued_at) == (team, queued_at):
                return
            self._leave_queue(queued, "removed")
        self._queue[conversation_id] = _Queued(conversation_id, team, queued_at, next(self._arrivals))
        self._settle()

    def remove(self, conversation_id: str) -> None:
        """The conversation left the queue (claimed, closed, released, opted out); its offer is
        withdrawn as `removed`."""
        queued = self._queue.get(conversation_id)
        if queued is None:
            return
        self._leave_queue(queued, "removed")
        self._settle()

    def decline(self, conversation_id: str, agent_id: str) -> bool:
        """The agent declines their offer; False (and nothing changes) if it was not theirs."""
        queued = self._queue.get(conversation_id)
        if queued is None or queued.offer is None or queued.offer.agent_id != agent_id:
            return False
        self._pass_over(queued, "declined")
        self._settle()
        return True

    def accept(self, conversation_id: str, agent_id: str) -> bool:
        """The agent claimed the conversation: it leaves the queue, and another agent's offer for
        it is withdrawn as `taken`. True if it was offered to this agent.

        The claim counts toward the agent's load at once, so no offer slips in before the glue
        calls `set_load` with the stored count (which stays the authority).
        """
        queued = self._queue.get(conversation_id)
        theirs = queued is not None and queued.offer is not None and queued.offer.agent_id == agent_id
        if queued is not None:
            self._leave_queue(queued, None if theirs else "taken")
        state = self._agents.get(agent_id)
        if state is not None:
            state.open_conversations += 1
            state.last_chosen = next(self._choices)
        self._settle()
        return theirs

    # queries

    def position(self, conversation_id: str) -> int | None:
        """1-based place in its team's queue; None when not queued."""
        queued = self._queue.get(conversation_id)
        if queued is None:
            return None
        return 1 + sum(1 for q in self._queue.values() if q.team == queued.team and q.order < queued.order)

    def waiting(self, team: str | None = None) -> list[Waiting]:
        """The queued conversations of `team` (all teams when None, by team), first in line first."""
        return [
            Waiting(q.conversation_id, q.team, q.queued_at, position, q.offer)
            for q, position in self._lines()
            if team is None or q.team == team
        ]

    def offers_for(self, agent_id: str) -> list[Offer]:
        """The agent's live offers, oldest conversation first (for a tab that just connected)."""
        return [
            q.offer
            for q in sorted(self._queue.values(), key=lambda q: q.order)
            if q.offer is not None and q.offer.agent_id == agent_id
        ]

    def presence(self, agent_id: str) -> Presence:
        state = self._agents.get(agent_id)
        return "offline" if state is None else state.presence

    # the engine

    def _settle(self) -> None:
        """Bring offers and positions up to date with a change, then tell the listener."""
        self._withdraw_stranded_offers()
        self._match()
        self._note_positions()
        self._deliver()

    def _withdraw_stranded_offers(self) -> None:
        for queued in self._queue.values():
            offer = queued.offer
            if offer is None:
                continue
            agent = self._agents[offer.agent_id]
            if agent.presence != "online" or queued.team not in agent.info.teams:
                self._withdraw(queued, "agent_left")

    def _match(self) -> None:
        # Oldest first across teams: an agent in several teams serves the longest wait. One pass
        # is enough, as making an offer never frees an agent for another conversation.
        for queued in sorted(self._queue.values(), key=lambda q: q.order):
            if queued.offer is not None:
                continue
            agent = self._choose_agent(queued)
            if agent is not None:
                self._make_offer(queued, agent)

    def _choose_agent(self, queued: _Queued) -> _Agent | None:
        available = [a for a in self._agents.values() if a.available_for(queued.team)]
        candidates = [a for a in available if a.info.id not in queued.passed_over_by]
        if available and not candidates:
            # Everyone available has passed on it: a new round, in which whoever passed last
            # still waits for the others.
            queued.passed_over_by = {queued.last_passed_over_by} if queued.last_passed_over_by else set()
            candidates = [a for a in available if a.info.id not in queued.passed_over_by] or available
        if not candidates:
            return None
        return min(candidates, key=lambda a: (a.load, a.last_chosen, a.info.id))

    def _make_offer(self, queued: _Queued, agent: _Agent) -> None:
        offer = Offer(queued.conversation_id, agent.info.id, self._clock.now() + self._offer_timeout)
        queued.offer = offer
        queued.expiry = self._timers.call_at(offer.expires_at, functools.partial(self._expire, offer))
        agent.offered.add(queued.conversation_id)
        agent.last_chosen = next(self._choices)
        self._events.append(functools.partial(self._listener.offered, offer))

    def _expire(self, offer: Offer) -> None:
        queued = self._queue.get(offer.conversation_id)
        if queued is None or queued.offer is not offer:
            return  # already ended; its timer was cancelled too late to matter
        self._pass_over(queued, "expired")
        self._settle()

    def _pass_over(self, queued: _Queued, reason: Literal["expired", "declined"]) -> None:
        assert queued.offer is not None
        agent_id = queued.offer.agent_id
        self._withdraw(queued, reason)
        queued.passed_over_by.add(agent_id)
        queued.last_passed_over_by = agent_id

    def _leave_queue(self, queued: _Queued, reason: WithdrawReason | None) -> None:
        """Take it out of the queue; a live offer is withdrawn for `reason`, or silently (None)
        when it was accepted."""
        if queued.offer is not None:
            self._withdraw(queued, reason)
        del self._queue[queued.conversation_id]

    def _withdraw(self, queued: _Queued, reason: WithdrawReason | None) -> None:
        offer = queued.offer
        assert offer is not None
        queued.offer = None
        if queued.expiry is not None:
            queued.expiry.cancel()
            queued.expiry = None
        self._agents[offer.agent_id].offered.discard(queued.conversation_id)
        if reason is not None:
            self._events.append(functools.partial(self._listener.offer_withdrawn, offer, reason))

    def _lines(self) -> list[tuple[_Queued, int]]:
        """Every queued conversation with its position, by team, first in line first."""
        ordered = sorted(self._queue.values(), key=lambda q: (q.team, q.order))
        lines: list[tuple[_Queued, int]] = []
        for _, members in itertools.groupby(ordered, key=lambda q: q.team):
            lines.extend((q, position) for position, q in enumerate(members, 1))
        return lines

    def _note_positions(self) -> None:
        current = {q.conversation_id: (q.team, position) for q, position in self._lines()}
        changed: dict[str, dict[str, int]] = {}
        for conversation_id, (team, position) in current.items():
            if self._reported_positions.get(conversation_id) != (team, position):
                changed.setdefault(team, {})[conversation_id] = position
        self._reported_positions = current
        for team, positions in changed.items():
            self._events.append(functools.partial(self._listener.positions_changed, team, positions))

    def _deliver(self) -> None:
        if self._delivering:
            return  # a listener called back in: the outer delivery loop sends these events too
        self._delivering = True
        first_error: Exception | None = None
        try:
            while self._events:
                event = self._events.popleft()
                try:
                    event()
                except Exception as error:
                    if first_error is None:
                        first_error = error
        finally:
            self._delivering = False
        if first_error is not None:
            raise first_error


def _require_count(open_conversations: int) -> None:
    if open_conversations < 0:
        raise ValueError(f"open conversations must not be negative, got {open_conversations}")
