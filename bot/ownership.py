"""Who owns a conversation: claim, reply, note, release, transfer, close.

A conversation is owned by the bot (`bot`, `closed`) or by one agent (`human`), or waits for
one (`pending_human`). Every change of owner is one guarded findAndModify
(`Store.transition`), and an agent's message is numbered only while that agent owns the
conversation, so two agents cannot both claim and nobody replies to a conversation that is
no longer theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.attribution.conversions import BadConversion, Conversions, read_mark
from bot.bus import ConversationChanged
from bot.conversations import Conversations
from bot.errors import Conflict, Invalid
from bot.lead_changes import closed_by_agent
from bot.models import Attachment, Conversation, Message, Outbound
from bot.qualifier import compose


class Agent(Protocol):
    """The person acting: an inbox user (or the admin token acting as an admin)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...


class AgentDirectory(Protocol):
    """Finds an active agent by id or email (the accounts module implements it)."""

    async def find(self, ref: Any) -> Agent | None: ...


class OwnershipListener(Protocol):
    """Told about queue changes (the dispatcher's glue implements this)."""

    async def claimed(self, conv: Conversation, agent_id: str) -> None: ...
    async def left_queue(self, conv: Conversation) -> None: ...
    async def queued(self, conv: Conversation) -> None: ...
    async def load_changed(self, agent_id: str) -> None: ...


class _Quiet:
    async def claimed(self, conv: Conversation, agent_id: str) -> None:
        return None

    async def left_queue(self, conv: Conversation) -> None:
        return None

    async def queued(self, conv: Conversation) -> None:
        return None

    async def load_changed(self, agent_id: str) -> None:
        return None


def _is_admin(agent: Agent) -> bool:
    return agent.role == "admin"


class Ownership:
    def __init__(
        self, convs: Conversations, *, max_chars: int, listener: OwnershipListener | None = None
    ) -> None:
        self.convs = convs
        self.store = convs.store
        self.max_chars = max_chars
        self.listener: OwnershipListener = listener or _Quiet()

    # -- helpers ---------------------------------------------------------------------

    def _text(self, text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise Invalid("text must be a non-empty string")
        if len(text) > self.max_chars:
            raise Invalid(f"text is longer than {self.max_chars} characters")
        return text.strip()

    @staticmethod
    def _owned_by(agent: Agent) -> dict[str, Any]:
        """The guard for actions reserved to the owner (admins may act on any owned one)."""
        if _is_admin(agent):
            return {"mode": "human"}
        return {"mode": "human", "agent_id": agent.id}

    async def _why_not(self, conv_id: str, agent: Agent, action: str) -> Conflict:
        conv = await self.store.get_conversation(conv_id)
        if conv.mode == "human" and conv.agent_id != agent.id:
            return Conflict(f"another agent owns this conversation; you cannot {action} it")
        if conv.mode == "human":
            return Conflict(f"cannot {action} it now")
        return Conflict(f"the conversation is {conv.mode.replace('_', ' ')}; claim it first to {action} it")

    async def _notice(self, conv: Conversation, text: str, author: str | None = None) -> None:
        messages = (
            await self.store.append(conv.id, [Outbound(sender="system", text=text, author=author)]) or []
        )
        await self.convs.deliver(conv, messages)

    def _changed(self, conv: Conversation) -> None:
        self.convs.bus.publish(ConversationChanged(conv))

    # -- actions ---------------------------------------------------------------------

    async def claim(self, conv_id: str, agent: Agent) -> Conversation:
        """Take a conversation that waits for a person (or that the bot has)."""
        conv = await self.store.transition(
            conv_id,
            expect={"mode": {"$in": ["pending_human", "bot"]}},
            changes={
                "mode": "human",
                "agent_id": agent.id,
                "queued_at": None,
                "claimed_at": self.convs.clock(),
            },
        )
        if conv is None:
            current = await self.store.get_conversation(conv_id)
            if current.mode == "human" and current.agent_id == agent.id:
                return current  # claiming twice is harmless
            if current.mode == "human":
                raise Conflict("another agent already owns this conversation")
            raise Conflict(f"the conversation is {current.mode}; it cannot be claimed")
        await self.listener.claimed(conv, agent.id)
        await self.convs.emit_lead_event("conversation.claimed", conv, agent_id=agent.id)
        await self._notice(conv, f"{agent.name} joined the conversation.", author=agent.name)
        self._changed(conv)
        return conv

    async def reply(
        self, conv_id: str, agent: Agent, text: Any, *, attachments: Sequence[Attachment] = ()
    ) -> Message:
        """`attachments` are saved already; with them the text may be empty (a file alone)."""
        blank = text is None or (isinstance(text, str) and not text.strip())
        body = "" if attachments and blank else self._text(text)
        conv = await self.store.get_conversation(conv_id)
        if conv.opted_out:
            raise Conflict("the visitor opted out; nothing more may be sent to them")
        out = Outbound(
            sender="agent", text=body, author=agent.name, agent_id=agent.id, attachments=list(attachments)
        )
        messages = await self.store.append(conv_id, [out], guard=self._owned_by(agent))
        if messages is None:
            raise await self._why_not(conv_id, agent, "reply to")
        await self.convs.deliver(conv, messages)
        return messages[0]

    async def note(self, conv_id: str, agent: Agent, text: Any) -> Message:
        """A private note for the team; never sent to the visitor."""
        body = self._text(text)
        conv = await self.store.get_conversation(conv_id)
        out = Outbound(sender="agent", text=body, author=agent.name, agent_id=agent.id, private=True)
        messages = await self.store.append(conv_id, [out]) or []
        await self.convs.deliver(conv, messages)
        return messages[0]

    async def release(self, conv_id: str, agent: Agent) -> Conversation:
        """Back to the bot, which continues with everything it knew and never re-asks."""
        current = await self.store.get_conversation(conv_id)
        flow = await self.convs.flows.for_conversation(current)
        lead = await self.store.get_lead(current.lead_id)
        slot = compose.first_missing(flow, lead.slots, lead.skipped)
        memory = {**current.state, "asked": slot.name if slot else None, "handed_off": True}
        memory.pop("closed", None)
        conv = await self.store.transition(
            conv_id,
            expect=self._owned_by(agent),
            changes={"mode": "bot", "agent_id": None, "state": memory, "answered_seq": current.last_seq},
        )
        if conv is None:
            raise await self._why_not(conv_id, agent, "release")
        await self.listener.load_changed(current.agent_id or agent.id)
        text = compose.join([flow.texts.resumed, slot.question if slot else flow.texts.all_set])
        expects = compose.expects_for(slot) if slot else None
        out = Outbound(sender="bot", text=text, expects=expects)
        messages = await self.store.append(conv_id, [out], guard={"mode": "bot"}) or []
        await self.convs.deliver(conv, messages)
        self._changed(conv)
        return conv

    async def transfer(
        self, conv_id: str, agent: Agent, *, to_agent: Agent | None = None, to_team: str | None = None
    ) -> Conversation:
        if (to_agent is None) == (to_team is None):
            raise Invalid("transfer to one agent or to one team")
        current = await self.store.get_conversation(conv_id)
        expect = self._owned_by(agent)
        if _is_admin(agent):
            expect = {"mode": {"$in": ["human", "pending_human"]}}
        if to_agent is not None:
            changes: dict[str, Any] = {
                "mode": "human",
                "agent_id": to_agent.id,
                "queued_at": None,
                "claimed_at": self.convs.clock(),
            }
        else:
            now = self.convs.clock()
            changes = {
                "mode": "pending_human",
                "agent_id": None,
                "team": to_team,
                "queued_at": now,
                "handed_off_at": now,
                "handoff_reason": "transferred",
                "routing_reasons": [f"transferred to team {to_team} by {agent.name}"],
            }
        conv = await self.store.transition(conv_id, expect=expect, changes=changes)
        if conv is None:
            raise await self._why_not(conv_id, agent, "transfer")
        if current.mode == "pending_human":
            await self.listener.left_queue(current)
        if current.agent_id:
            await self.listener.load_changed(current.agent_id)
        if to_agent is not None:
            await self.listener.load_changed(to_agent.id)
            await self._notice(conv, f"{to_agent.name} joined the conversation.", author=to_agent.name)
        else:
            await self.listener.queued(conv)
        self._changed(conv)
        return conv

    async def close(
        self,
        conv_id: str,
        agent: Agent,
        *,
        outcome: Any,
        value: Any = None,
        currency: Any = None,
        reason: Any = None,
    ) -> Conversation:
        """Close with the lead's outcome (bot/attribution/conversions.py): converted with an
        optional value, or lost with an optional reason."""
        try:
            mark = read_mark(outcome, value, currency, reason, reason_required=False)
        except BadConversion as exc:
            raise Invalid(exc.message) from None  # 422, as for every agent action's body
        current = await self.store.get_conversation(conv_id)
        expect = self._owned_by(agent)
        if _is_admin(agent):
            expect = {"mode": {"$ne": "closed"}}
        state = {**current.state, "closed": True, "asked": None}
        conv = await self.store.transition(
            conv_id,
            expect=expect,
            changes={"mode": "closed", "outcome": mark.outcome, "outcome_value": mark.value, "state": state},
        )
        if conv is None:
            raise await self._why_not(conv_id, agent, "close")
        await Conversions.of(self.convs).record(
            conv.lead_id, mark, by_id=agent.id, by_name=agent.name, via="closed", conversation=conv
        )
        if current.mode == "pending_human":
            await self.listener.left_queue(current)
        if current.agent_id:
            await self.listener.load_changed(current.agent_id)
        self._changed(conv)
        lead = await self.store.get_lead(conv.lead_id)
        await self.convs.lead_events.emit(closed_by_agent(lead, conv, self.convs.clock(), agent_id=agent.id))
        return conv
