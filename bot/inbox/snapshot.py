"""The inbox's lists: who waits, who has whom, which agents are around.

`build_queues` reads the store once for everybody (the hub shares it between sockets);
`queues_frame` cuts one agent's view out of it: everyone sees the waiting line, each agent
their own conversations, admins every open one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bot.auth.users import User, Users, api_token_admin
from bot.dispatch import Dispatcher, Offer
from bot.flowbook import FlowBook
from bot.inbox.package import card, offer_json
from bot.models import Conversation
from bot.store import NotFound, Store

# Conversations an agent owns are bounded by capacity; these bound the rest of a snapshot.
MAX_OWNED: Final = 1000
MAX_WITH_BOT: Final = 50


@dataclass(frozen=True)
class Queues:
    version: int
    waiting: list[dict[str, Any]]  # first in line first
    owned: list[dict[str, Any]]  # by an agent (mode human), latest activity first
    with_bot: list[dict[str, Any]]  # the bot is talking, latest activity first
    agents: list[dict[str, Any]]
    teams: list[str]
    names: dict[str, str]  # agent id -> display name, for whoever owns or is offered something


def agent_names(users: Sequence[User]) -> dict[str, str]:
    token_admin = api_token_admin()  # claims made with the admin API token show under its name
    return {token_admin.id: token_admin.name, **{user.id: user.name for user in users}}


async def _cards(
    store: Store,
    flows: FlowBook,
    convs: Sequence[Conversation],
    names: dict[str, str],
    positions: dict[str, int] | None = None,
    offers: dict[str, Offer] | None = None,
) -> list[dict[str, Any]]:
    cards = []
    for conv in convs:
        try:
            lead = await store.get_lead(conv.lead_id)
        except NotFound:  # merged into another lead a moment ago; the next snapshot has it
            continue
        cards.append(
            card(
                conv,
                lead,
                await flows.pinned(conv.flow),
                names=names,
                position=(positions or {}).get(conv.id),
                offer=(offers or {}).get(conv.id),
            )
        )
    return cards


async def build_queues(
    *, version: int, store: Store, users: Users, flows: FlowBook, dispatcher: Dispatcher
) -> Queues:
    everyone = [user for user in await users.list() if not user.disabled]
    names = agent_names(everyone)
    line = dispatcher.waiting()
    positions = {w.conversation_id: w.position for w in line}
    offers = {w.conversation_id: w.offer for w in line if w.offer is not None}
    waiting = await _cards(store, flows, await store.waiting(), names, positions, offers)
    owned = await _cards(store, flows, await store.list_conversations(mode="human", limit=MAX_OWNED), names)
    with_bot = await _cards(
        store, flows, await store.list_conversations(mode="bot", limit=MAX_WITH_BOT), names
    )
    teams = {team for user in everyone for team in user.teams}
    teams.update(flow.routing.default_team for flow in await flows.live_flows())
    agents = [
        {
            "id": user.id,
            "name": user.name,
            "role": user.role,
            "teams": user.teams,
            "presence": dispatcher.presence(user.id),
        }
        for user in sorted(everyone, key=lambda u: u.name.casefold())
    ]
    return Queues(version, waiting, owned, with_bot, agents, sorted(teams), names)


def queues_frame(queues: Queues, user: User, offers: Sequence[Offer], now: datetime) -> dict[str, Any]:
    """What one agent's inbox shows; `all_open` is null for agents who are not admins."""
    admin = user.acts_as("admin")
    return {
        "type": "queues",
        "now": now.isoformat(),
        "waiting": queues.waiting,
        "mine": [c for c in queues.owned if c["agent"] is not None and c["agent"]["id"] == user.id],
        "all_open": queues.owned + queues.with_bot if admin else None,
        "offers": [offer_json(offer) for offer in offers],
        "agents": queues.agents,
        "teams": queues.teams,
    }
