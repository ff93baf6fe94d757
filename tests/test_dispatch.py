"""The offer/queue engine: who is offered a waiting conversation, when offers move on, queue positions.

Time only moves when a test advances the ManualClock, so expiry is exact and nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.dispatch import AgentInfo, Dispatcher, Offer, Waiting, WithdrawReason

TIMEOUT = 60.0


@dataclass
class Recorder:
    """Keeps what the dispatcher reports, as short tuples in the order it arrived."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    on_offer: Callable[[Offer], None] | None = None

    def offered(self, offer: Offer) -> None:
        self.events.append(("offered", offer.conversation_id, offer.agent_id))
        if self.on_offer is not None:
            self.on_offer(offer)

    def offer_withdrawn(self, offer: Offer, reason: WithdrawReason) -> None:
        self.events.append(("withdrawn", offer.conversation_id, offer.agent_id, reason))

    def positions_changed(self, team: str, positions: Mapping[str, int]) -> None:
        self.events.append(("positions", team, dict(positions)))

    def take(self) -> list[tuple[Any, ...]]:
        taken, self.events = self.events, []
        return taken

    def offers(self) -> list[tuple[Any, ...]]:
        """The offer events only, taken."""
        return [e for e in self.take() if e[0] != "positions"]


@dataclass
class Harness:
    clock: ManualClock
    dispatcher: Dispatcher
    heard: Recorder
    queued: int = 0

    def enqueue(self, conversation_id: str, team: str = "sales", after: float | None = None) -> None:
        # each conversation a second after the last unless told, so FIFO order is explicit
        self.queued += 1
        offset = self.queued if after is None else after
        self.dispatcher.enqueue(conversation_id, team, self.clock.now() + timedelta(seconds=offset))


@pytest.fixture
def harness() -> Harness:
    clock = ManualClock()
    heard = Recorder()
    return Harness(clock, Dispatcher(clock=clock, timers=clock, offer_timeout=TIMEOUT, listener=heard), heard)


def agent(agent_id: str, *teams: str, capacity: int | None = None) -> AgentInfo:
    info = AgentInfo(agent_id, agent_id.title(), frozenset(teams or ("sales",)))
    return info if capacity is None else replace(info, capacity=capacity)


def offered_to(harness: Harness, conversation_id: str) -> str | None:
    [waiting] = [w for w in harness.dispatcher.waiting() if w.conversation_id == conversation_id]
    return waiting.offer.agent_id if waiting.offer else None


# choosing the agent


def test_a_waiting_conversation_is_offered_to_the_least_loaded_member(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=2)
    harness.dispatcher.connect(agent("bob"), open_conversations=0)
    harness.dispatcher.connect(agent("cy", "dach"), open_conversations=0)  # idle, but another team
    harness.enqueue("c1")
    assert harness.heard.offers() == [("offered", "c1", "bob")]
    [offer] = harness.dispatcher.offers_for("bob")
    assert offer == Offer("c1", "bob", harness.clock.now() + timedelta(seconds=TIMEOUT))


def test_pending_offers_count_as_load(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=1)
    harness.dispatcher.connect(agent("bob"), open_conversations=0)
    for conversation_id in ("c1", "c2", "c3"):
        harness.enqueue(conversation_id)
    assert harness.heard.offers() == [
        ("offered", "c1", "bob"),
        ("offered", "c2", "ana"),
        ("offered", "c3", "bob"),
    ]


def test_ties_go_round_robin_to_whoever_was_chosen_least_recently(harness: Harness) -> None:
    for name in ("ana", "bob", "cy"):
        harness.dispatcher.connect(agent(name), open_conversations=0)
    chosen = []
    for n in range(4):
        harness.enqueue(f"c{n}")
        [(_, _, agent_id)] = harness.heard.offers()
        chosen.append(agent_id)
        assert harness.dispatcher.accept(f"c{n}", agent_id)
        harness.dispatcher.set_load(agent_id, 0)  # closed it at once: everyone is tied again
    assert chosen == ["ana", "bob", "cy", "ana"]


def test_the_default_capacity_of_five_is_respected(harness: Harness) -> None:
    ana = AgentInfo("ana", "Ana", frozenset({"sales"}))
    assert ana.capacity == 5
    harness.dispatcher.connect(ana, open_conversations=3)
    for conversation_id in ("c1", "c2", "c3"):
        harness.enqueue(conversation_id)
    assert harness.heard.offers() == [("offered", "c1", "ana"), ("offered", "c2", "ana")]
    assert offered_to(harness, "c3") is None
    harness.dispatcher.set_load("ana", 2)  # she closed one
    assert harness.heard.offers() == [("offered", "c3", "ana")]


def test_an_accepted_claim_counts_toward_capacity_before_the_load_is_reported(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana", capacity=1), open_conversations=0)
    harness.enqueue("c1")
    harness.enqueue("c2")
    harness.heard.take()
    assert harness.dispatcher.accept("c1", "ana") is True
    assert offered_to(harness, "c2") is None
    harness.dispatcher.set_load("ana", 0)
    assert harness.heard.offers() == [("offered", "c2", "ana")]


def test_the_oldest_conversation_across_teams_is_served_first(harness: Harness) -> None:
    harness.enqueue("young", "sales", after=20)
    harness.enqueue("old", "dach", after=10)
    harness.dispatcher.connect(agent("ana", "sales", "dach", capacity=1), open_conversations=0)
    assert harness.heard.offers() == [("offered", "old", "ana")]


def test_nobody_available_means_the_conversation_waits(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana", "dach"), open_conversations=0)
    harness.dispatcher.connect(agent("bob", capacity=0), open_conversations=0)
    harness.enqueue("c1")
    assert harness.heard.offers() == []
    harness.dispatcher.connect(agent("cy"), open_conversations=0)
    assert harness.heard.offers() == [("offered", "c1", "cy")]


# offers moving on


def test_an_offer_not_accepted_in_time_goes_to_the_other_agent(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.dispatcher.connect(agent("bob"), open_conversations=1)
    harness.enqueue("c1")
    assert harness.heard.offers() == [("offered", "c1", "ana")]

    harness.clock.advance(TIMEOUT - 1)
    assert harness.heard.offers() == []
    harness.clock.advance(1)
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "expired"), ("offered", "c1", "bob")]
    [offer] = harness.dispatcher.offers_for("bob")
    assert offer.expires_at == harness.clock.now() + timedelta(seconds=TIMEOUT)

    harness.clock.advance(TIMEOUT)  # bob lets it expire too: everyone has had it, back to ana
    assert harness.heard.offers() == [("withdrawn", "c1", "bob", "expired"), ("offered", "c1", "ana")]

    assert harness.dispatcher.accept("c1", "ana") is True
    assert harness.clock.pending == 0  # the expiry timer went with the offer
    harness.clock.advance(TIMEOUT)
    assert harness.heard.offers() == []


def test_a_declined_offer_goes_to_the_next_agent(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.dispatcher.connect(agent("bob"), open_conversations=2)
    harness.enqueue("c1")
    harness.heard.take()
    assert harness.dispatcher.decline("c1", "bob") is False  # not bob's to decline
    assert harness.dispatcher.decline("c1", "ana") is True
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "declined"), ("offered", "c1", "bob")]
    assert harness.clock.pending == 1  # only bob's offer is timed


def test_whoever_passed_waits_until_every_other_available_member_was_offered_it(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.dispatcher.connect(agent("bob"), open_conversations=2)
    harness.dispatcher.connect(agent("cy"), open_conversations=3)
    harness.enqueue("c1")
    harness.dispatcher.decline("c1", "ana")  # she stays the least loaded, yet is skipped
    harness.clock.advance(TIMEOUT)  # bob lets it expire
    harness.dispatcher.set_load("cy", 0)
    harness.dispatcher.set_load("ana", 1)
    harness.dispatcher.decline("c1", "cy")  # everyone has passed: a new round, in which cy (now the
    # least loaded) waits for the others again
    offers = [e for e in harness.heard.offers() if e[0] == "offered"]
    assert offers == [
        ("offered", "c1", "ana"),
        ("offered", "c1", "bob"),
        ("offered", "c1", "cy"),
        ("offered", "c1", "ana"),
    ]
    harness.dispatcher.decline("c1", "ana")
    assert harness.heard.offers()[-1] == ("offered", "c1", "bob")


def test_a_member_who_joins_is_offered_what_others_passed_on(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.enqueue("c1")
    harness.dispatcher.decline("c1", "ana")
    harness.heard.take()
    harness.dispatcher.set_presence("ana", "away")
    harness.dispatcher.connect(agent("bob"), open_conversations=4)
    harness.dispatcher.set_presence("ana", "online")
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "agent_left"), ("offered", "c1", "bob")]


def test_the_only_agent_is_offered_it_again_after_passing(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.enqueue("c1")
    harness.dispatcher.decline("c1", "ana")
    assert harness.heard.offers() == [
        ("offered", "c1", "ana"),
        ("withdrawn", "c1", "ana", "declined"),
        ("offered", "c1", "ana"),
    ]


def test_going_away_withdraws_offers_and_reoffers_them(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.dispatcher.connect(agent("bob"), open_conversations=1)
    harness.enqueue("c1")
    harness.heard.take()
    harness.dispatcher.set_presence("ana", "away")
    assert harness.dispatcher.presence("ana") == "away"
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "agent_left"), ("offered", "c1", "bob")]
    harness.dispatcher.set_presence("ana", "online")
    assert harness.heard.offers() == []  # c1 stays with bob
    harness.enqueue("c2")
    assert harness.heard.offers() == [("offered", "c2", "ana")]


def test_an_agent_is_offline_only_when_the_last_tab_closes(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.dispatcher.connect(agent("ana"), open_conversations=0)  # a second tab
    harness.dispatcher.connect(agent("bob"), open_conversations=1)
    harness.enqueue("c1")
    harness.heard.take()
    harness.dispatcher.disconnect("ana")
    assert harness.dispatcher.presence("ana") == "online"
    assert harness.heard.offers() == []
    harness.dispatcher.disconnect("ana")
    assert harness.dispatcher.presence("ana") == "offline"
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "agent_left"), ("offered", "c1", "bob")]
    harness.dispatcher.disconnect("ana")  # a stray close changes nothing
    assert harness.dispatcher.presence("ana") == "offline"


def test_presence_follows_the_sockets(harness: Harness) -> None:
    assert harness.dispatcher.presence("ana") == "offline"
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.dispatcher.set_presence("ana", "away")
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    assert harness.dispatcher.presence("ana") == "away"  # another tab keeps what she set
    harness.dispatcher.disconnect("ana")
    harness.dispatcher.disconnect("ana")
    harness.dispatcher.set_presence("ana", "online")  # no socket: ignored
    assert harness.dispatcher.presence("ana") == "offline"
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    assert harness.dispatcher.presence("ana") == "online"  # a fresh connection starts online
    with pytest.raises(ValueError, match="online or away"):
        harness.dispatcher.set_presence("ana", "busy")  # type: ignore[arg-type]


def test_leaving_the_team_withdraws_its_offers(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana", "sales", "dach"), open_conversations=0)
    harness.enqueue("c1", "dach")
    harness.heard.take()
    harness.dispatcher.connect(agent("ana", "sales"), open_conversations=0)
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "agent_left")]


def test_claiming_someone_elses_offer_takes_it(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.enqueue("c1")
    harness.heard.take()
    assert harness.dispatcher.accept("c1", "bob") is False  # bob claimed it from the inbox list
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "taken")]
    assert harness.dispatcher.waiting() == []
    assert harness.clock.pending == 0


def test_an_accepted_offer_is_not_reported_as_withdrawn(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.enqueue("c1")
    harness.heard.take()
    assert harness.dispatcher.accept("c1", "ana") is True
    assert harness.heard.take() == []
    assert harness.dispatcher.position("c1") is None


def test_removing_a_conversation_withdraws_its_offer_and_cancels_the_timer(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.enqueue("c1")
    harness.heard.take()
    harness.dispatcher.remove("c1")
    harness.dispatcher.remove("c1")  # twice is harmless
    assert harness.heard.offers() == [("withdrawn", "c1", "ana", "removed")]
    assert harness.clock.pending == 0


# the queue


def test_queue_positions_are_reported_as_they_change(harness: Harness) -> None:
    harness.enqueue("c1", after=10)
    harness.enqueue("c2", after=20)
    harness.enqueue("c3", after=30)
    assert harness.heard.take() == [
        ("positions", "sales", {"c1": 1}),
        ("positions", "sales", {"c2": 2}),
        ("positions", "sales", {"c3": 3}),
    ]
    harness.enqueue("c0", after=5)  # handed off earlier, queued late: it goes first
    assert harness.heard.take() == [("positions", "sales", {"c0": 1, "c1": 2, "c2": 3, "c3": 4})]
    assert [harness.dispatcher.position(c) for c in ("c0", "c1", "c2", "c3", "nope")] == [1, 2, 3, 4, None]

    harness.dispatcher.connect(agent("ana", capacity=1), open_conversations=0)
    assert harness.heard.take() == [("offered", "c0", "ana")]  # an offer does not move anyone
    harness.dispatcher.accept("c0", "ana")
    assert harness.heard.take() == [("positions", "sales", {"c1": 1, "c2": 2, "c3": 3})]
    harness.dispatcher.remove("c3")  # the last one leaving moves nobody
    assert harness.heard.take() == []
    harness.dispatcher.remove("c1")
    assert harness.heard.take() == [("positions", "sales", {"c2": 1})]


def test_each_team_has_its_own_queue(harness: Harness) -> None:
    harness.enqueue("s1", "sales")
    harness.enqueue("d1", "dach")
    harness.enqueue("s2", "sales")
    assert harness.heard.take() == [
        ("positions", "sales", {"s1": 1}),
        ("positions", "dach", {"d1": 1}),
        ("positions", "sales", {"s2": 2}),
    ]
    harness.dispatcher.remove("s1")
    assert harness.heard.take() == [("positions", "sales", {"s2": 1})]
    assert harness.dispatcher.position("d1") == 1


def test_waiting_lists_each_team_first_in_line_first_with_its_offer(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana", "dach", capacity=1), open_conversations=0)
    harness.enqueue("s1", "sales", after=30)
    harness.enqueue("d1", "dach", after=10)
    harness.enqueue("d2", "dach", after=20)
    start = harness.clock.now()
    offer = Offer("d1", "ana", start + timedelta(seconds=TIMEOUT))
    dach = [
        Waiting("d1", "dach", start + timedelta(seconds=10), 1, offer),
        Waiting("d2", "dach", start + timedelta(seconds=20), 2, None),
    ]
    assert harness.dispatcher.waiting("dach") == dach
    assert harness.dispatcher.waiting() == [
        *dach,
        Waiting("s1", "sales", start + timedelta(seconds=30), 1, None),
    ]
    assert harness.dispatcher.waiting("nobody") == []


def test_queuing_again_as_is_changes_nothing_and_a_new_team_requeues(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    queued_at = harness.clock.now()
    harness.dispatcher.enqueue("c1", "sales", queued_at)
    harness.heard.take()
    harness.dispatcher.enqueue("c1", "sales", queued_at)  # the glue replaying its stored queue
    assert harness.heard.take() == []
    harness.dispatcher.enqueue("c1", "dach", queued_at)  # transferred to another team
    assert harness.heard.take() == [
        ("withdrawn", "c1", "ana", "removed"),
        ("positions", "dach", {"c1": 1}),
    ]
    assert harness.clock.pending == 0


# the engine's contract


def test_a_listener_may_call_back_and_still_hears_events_in_order(harness: Harness) -> None:
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    harness.dispatcher.connect(agent("bob"), open_conversations=0)
    harness.enqueue("c1")
    harness.heard.take()

    def bob_declines(offer: Offer) -> None:
        if offer.agent_id == "bob":
            assert harness.dispatcher.decline(offer.conversation_id, "bob") is True
            assert offered_to(harness, offer.conversation_id) == "ana"  # already current

    harness.heard.on_offer = bob_declines
    harness.dispatcher.decline("c1", "ana")
    assert harness.heard.offers() == [
        ("withdrawn", "c1", "ana", "declined"),
        ("offered", "c1", "bob"),
        ("withdrawn", "c1", "bob", "declined"),
        ("offered", "c1", "ana"),
    ]


def test_events_caused_by_a_listener_come_after_the_ones_already_due(harness: Harness) -> None:
    harness.enqueue("c1")
    harness.enqueue("c2")
    harness.heard.take()

    def drop_c2(offer: Offer) -> None:
        if offer.conversation_id == "c1":
            harness.dispatcher.remove("c2")  # the visitor of c2 left meanwhile
            assert harness.dispatcher.waiting("sales")[-1].conversation_id == "c1"  # in effect at once
            assert harness.heard.events[-1] == ("offered", "c1", "ana")  # not re-entered meanwhile

    harness.heard.on_offer = drop_c2
    harness.dispatcher.connect(agent("ana"), open_conversations=0)  # offers c1 and c2 at once
    assert harness.heard.offers() == [
        ("offered", "c1", "ana"),
        ("offered", "c2", "ana"),  # never a withdrawal before its offer
        ("withdrawn", "c2", "ana", "removed"),
    ]


def test_a_failing_listener_does_not_lose_the_other_events(harness: Harness) -> None:
    def explode(offer: Offer) -> None:
        raise RuntimeError("socket gone")

    harness.heard.on_offer = explode
    harness.dispatcher.connect(agent("ana"), open_conversations=0)
    with pytest.raises(RuntimeError, match="socket gone"):
        harness.enqueue("c1")
    assert harness.heard.take() == [("offered", "c1", "ana"), ("positions", "sales", {"c1": 1})]
    assert offered_to(harness, "c1") == "ana"


def test_bad_inputs_are_refused(harness: Harness) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        harness.dispatcher.enqueue("c1", "sales", datetime(2025, 1, 6, 9, 0))
    with pytest.raises(ValueError, match="negative"):
        harness.dispatcher.connect(agent("ana"), open_conversations=-1)
    with pytest.raises(ValueError, match="capacity"):
        agent("ana", capacity=-1)
    with pytest.raises(ValueError, match="offer_timeout"):
        Dispatcher(clock=harness.clock, timers=harness.clock, offer_timeout=0, listener=harness.heard)
