"""The service in the middle: every message in and out of a conversation passes here.

receive: store the visitor's message once, tell listeners, and owe it a bot turn.
turns:   one at a time per conversation, in seq order, each answered exactly once.
deliver: the one send path — bot replies, agent replies and notices, once stored (under the
         owner rule: see bot.ownership), are fanned out and handed to the channel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any

from aiojobs import Scheduler

from bot.bus import Bus, ConversationChanged, MessageCreated, ReplyDelta, Typing
from bot.experiments.assign import apply as apply_variants
from bot.experiments.assign import assign as assign_variants
from bot.flowbook import FlowBook
from bot.flows import Flow
from bot.lead_changes import is_new_lead, lead_created, turn_events
from bot.lead_events import LeadEvent, LeadEventKind, LeadEvents
from bot.llm.budget import Budget
from bot.llm.client import ChatMessage
from bot.llm.runtime import LlmRuntime
from bot.logs import CONVERSATION
from bot.metrics import Metrics
from bot.models import (
    BOT_MODES,
    Conversation,
    FlowRef,
    HandoffReason,
    Inbound,
    Lead,
    LeadStatus,
    Message,
    Mode,
    Outbound,
    StatusChange,
)
from bot.qualifier.graph import Qualifier, Turn
from bot.qualifier.intents import detect_intents
from bot.qualifier.llm_summary import summarize_with_llm
from bot.qualifier.llm_turn import LlmTurn
from bot.qualifier.state import Memory
from bot.redis_link import RedisLink
from bot.store import NotFound, Store, new_visitor_token
from bot.turn_lock import TurnLocks
from channels.base import ChannelRegistry

log = logging.getLogger(__name__)

# LLM mode: how much of the conversation the model sees, and the longest reply it may write
# (a chat message, not an essay; the offline texts are far shorter).
HISTORY_MESSAGES = 12
REPLY_MAX_CHARS = 800

Clock = Callable[[], datetime]


def utcnow_clock() -> datetime:
    return datetime.now(UTC)


def set_status(lead: Lead, status: LeadStatus, reason: str) -> None:
    """Move the lead to `status`, recording the change once."""
    if lead.status != status:
        lead.status = status
        lead.status_history.append(StatusChange(status=status, reason=reason))


def _next_status(lead: Lead, turn: Turn) -> tuple[LeadStatus, str] | None:
    if turn.decision == "opt_out":
        return "opted_out", "visitor opted out"
    if turn.decision == "silent":
        return None
    if lead.status == "opted_out":
        return "engaged", "visitor opted back in"
    if turn.decision == "handoff" and turn.handoff_reason == "qualified":
        return "qualified", f"score {turn.score['score']} ≥ threshold"
    if turn.decision == "unqualified":
        return "unqualified", f"score {turn.score['score']} below threshold"
    if lead.status == "new":
        return "engaged", "visitor replied"
    return None


class Conversations:
    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        flows: FlowBook,
        channels: ChannelRegistry,
        jobs: Scheduler,
        qualifier: Qualifier | None = None,
        clock: Clock = utcnow_clock,
        llm: LlmRuntime | None = None,
        metrics: Metrics | None = None,
        turn_locks: TurnLocks | None = None,
        lead_events: LeadEvents | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.llm = llm  # LLM mode (docs/llm.md); None: offline only
        self.bus = bus
        self.flows = flows
        self.channels = channels
        self.jobs = jobs
        self.qualifier = qualifier or Qualifier()
        self.clock = clock
        # Called when the bot hands a conversation to people (routing and the queue hang here).
        self.on_handoff: Callable[[Conversation, Lead], Awaitable[None]] | None = None
        # Called when an SMS, WhatsApp or email conversation starts (attribution records where from).
        self.on_contact_start: Callable[[Conversation], Awaitable[None]] | None = None
        # Called when a channel could not send a stored message (channels/resend.py retries it).
        self.on_send_failed: Callable[[Conversation, Message, Exception], Awaitable[None]] | None = None
        # One turn at a time per conversation, in this process and (with Redis) across processes.
        self.turn_locks = turn_locks or TurnLocks(RedisLink(None))
        # Set whenever no background work (bot turns, consent notices) is scheduled or running.
        # What happens to leads, for CRM webhooks and follow-ups (emitted after the store has it).
        self.lead_events = lead_events or LeadEvents()
        self._work_in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- starting and finding --------------------------------------------------------

    async def start(self, channel: str, *, flow_id: str | None = None) -> tuple[Conversation, str]:
        """Open a conversation: a new lead, the greeting, the first question."""
        flow = await self.flows.for_channel(channel, flow_id)
        token = new_visitor_token()
        conv = await self.store.create_conversation(channel, FlowRef(id=flow.id, version=flow.version), token)
        lead = await self.store.get_lead(conv.lead_id)
        if flow.experiments:
            conv, lead = await self._assign_variants(conv, lead, flow, subject=lead.id)
            flow = apply_variants(flow, conv.variants)
        text, expects, memory = self.qualifier.opening(flow, slots=lead.slots, skipped=lead.skipped)
        saved = await self.store.save_turn(
            conv.id,
            state=dict(memory),
            lead=lead,
            outs=[Outbound(sender="bot", text=text, expects=expects)],
            answered_seq=0,
        )
        assert saved is not None  # unguarded: always saved
        conv, lead, messages = saved
        await self.lead_events.emit(lead_created(lead, conv, self.clock()))
        await self.deliver(conv, messages)
        return conv, token

    async def _assign_variants(
        self, conv: Conversation, lead: Lead, flow: Flow, *, subject: str
    ) -> tuple[Conversation, Lead]:
        """Pick the conversation's A/B variants: the person's earlier ones, else by hashing `subject`."""
        variants = assign_variants(flow, subject, known=lead.variants)
        conv = await self.store.record_variants(conv, lead, variants)
        return conv, lead.model_copy(update={"variants": {**variants, **lead.variants}})

    async def resume(self, visitor_token: str) -> Conversation | None:
        return await self.store.conversation_by_token(visitor_token)

    # -- inbound ---------------------------------------------------------------------

    async def receive(self, msg: Inbound, *, origin: str | None = None) -> tuple[Message, bool]:
        """Record a visitor's message durably; the bot's turn runs in a background job.

        Returns the stored message and whether it is new. A duplicate (same client or
        provider id) returns the first copy and triggers nothing.
        """
        if msg.received_at is None:
            msg = msg.model_copy(update={"received_at": self.clock()})
        conv, stored, is_new = await self.store.record_inbound(msg)
        if not is_new:
            if self.metrics is not None:
                self.metrics.duplicates.labels(msg.channel).inc()
            return stored, False
        self.bus.publish(MessageCreated(stored, origin=origin))
        # Before the turn is spawned: follow-ups due are cancelled before the bot answers.
        await self.emit_lead_event("message.received", conv, message_id=stored.id, seq=stored.seq)
        if conv.mode in BOT_MODES:
            await self._spawn(self.answer_owed(conv.id), f"turn:{conv.id}")
        else:
            await self._spawn(self._honour_consent(conv, stored), f"consent:{conv.id}")
        return stored, True

    async def _honour_consent(self, conv: Conversation, message: Message) -> None:
        """STOP and START work whoever owns the conversation (in bot mode the graph sees them)."""
        intents = detect_intents(message.text)
        opting_out = "opt_out" in intents and not conv.opted_out
        opting_in = "opt_in" in intents and conv.opted_out
        if not (opting_out or opting_in):
            return
        flow = await self.flows.for_conversation(conv)
        lead = await self.store.get_lead(conv.lead_id)
        before = lead.model_copy(deep=True)
        if opting_out:
            set_status(lead, "opted_out", "visitor opted out")
            text = flow.texts.opted_out
        else:
            set_status(lead, "engaged", "visitor opted back in")
            text = flow.texts.opted_in
        saved = await self.store.save_turn(
            conv.id,
            state={**conv.state, "opted_out": opting_out},
            lead=lead,
            outs=[Outbound(sender="bot", text=text, meta={"notice": "opted_out"} if opting_out else {})],
            answered_seq=conv.answered_seq,
            opted_out=opting_out,
            contacts_changed=False,
        )
        assert saved is not None  # unguarded: always saved
        conv, lead, messages = saved
        await self.deliver(conv, messages)
        self.bus.publish(ConversationChanged(conv, lead))
        for event in turn_events(before, lead, conv, self.clock()):
            await self.lead_events.emit(event)

    def typing(
        self, conv_id: str, sender: str = "visitor", *, origin: str | None = None, author: str | None = None
    ) -> None:
        self.bus.publish(
            Typing(conv_id, "visitor" if sender == "visitor" else "agent", origin=origin, author=author)
        )

    async def ensure_answered(self, conv_id: str) -> None:
        """Schedule the bot's turn for any visitor message left unanswered (e.g. by a crash)."""
        conv = await self.store.get_conversation(conv_id)
        if conv.mode in BOT_MODES and await self.store.last_visitor_seq(conv_id) > conv.answered_seq:
            await self._spawn(self.answer_owed(conv_id), f"turn:{conv_id}")

    async def background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run a channel's work after its ack (e.g. fetching an MMS's media), tracked like bot
        turns: `idle()` waits for it and shutdown gives it the same grace."""
        await self._spawn(work, name)

    async def idle(self) -> None:
        """Return once no background work (bot turns, consent notices) is scheduled or running."""
        await self._idle.wait()

    # -- bot turns -------------------------------------------------------------------

    async def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` after the caller has acknowledged the message (a tracked background job)."""
        self._work_in_flight += 1
        self._idle.clear()
        try:
            await self.jobs.spawn(self._tracked(work, name), name=name)
        except BaseException:
            work.close()
            self._work_done()
            raise

    def _work_done(self) -> None:
        self._work_in_flight -= 1
        if self._work_in_flight == 0:
            self._idle.set()

    async def _tracked(self, work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except NotFound:  # its conversation was erased meanwhile (bot/privacy): nothing to do
            log.info("background work %s stopped: its conversation is gone", name)
        except Exception:
            # The visitor's message is stored; a turn still owed runs again on reconnect.
            log.exception("background work %s failed", name)
        finally:
            self._work_done()

    async def answer_owed(self, conv_id: str) -> None:
        """Answer every visitor message after `answered_seq`, one turn each, in order."""
        CONVERSATION.set(conv_id)  # a job of its own: its logs are about this conversation
        async with self.turn_locks.hold(conv_id) as fence:
            if fence is not None and not await self.store.claim_fence(conv_id, fence):
                return  # a later holder already answered (this process stalled past its lock)
            conv = await self.store.get_conversation(conv_id)
            while conv.mode in BOT_MODES:
                owed = [
                    m
                    for m in await self.store.messages_after(conv_id, conv.answered_seq, limit=50)
                    if m.sender == "visitor"
                ]
                written = 0
                for message in owed:
                    started = time.monotonic()
                    done = await self._turn(conv, message, fence)
                    elapsed = time.monotonic() - started
                    if self.metrics is not None:
                        self.metrics.turn_seconds.observe(elapsed)
                    log.debug("turn for seq %d took %.0f ms", message.seq, elapsed * 1000)
                    if done is None:
                        return
                    conv, written = done
                    if conv.mode not in BOT_MODES:
                        return
                if conv.last_seq == written or not owed:
                    return  # nothing arrived while we were answering

    async def _turn(
        self, conv: Conversation, message: Message, fence: int | None = None
    ) -> tuple[Conversation, int] | None:
        """Run one bot turn for `message`, under the turn lock whose fencing token is `fence`.

        Returns the conversation after it and the highest seq this turn wrote, or None when
        the bot no longer owns the conversation, or a later lock holder took it over (its
        reply was dropped).
        """
        fenced: dict[str, Any] = {} if fence is None else {"turn_fence": fence}
        if not message.text.strip():
            # A file with no words (from the widget): nothing for the bot to read or answer.
            after = await self.store.transition(conv.id, expect=fenced, changes={"answered_seq": message.seq})
            return (after, message.seq) if after is not None else None
        flow = await self.flows.for_conversation(conv)
        lead = await self.store.get_lead(conv.lead_id)
        before, mode_before = lead.model_copy(deep=True), conv.mode  # what the turn changes, for lead events
        if not conv.state.get("opted_out"):
            self.bus.publish(Typing(conv.id, "bot"))
        memory = Memory(**conv.state)  # type: ignore[typeddict-item]
        if lead.status == "opted_out":
            memory["opted_out"] = True  # opted out anywhere: only START and the like bring them back
        if conv.mode == "closed":
            memory["closed"] = True  # however it was closed, the bot does not start over
        llm = await self._llm_turn(conv, flow, lead) if not memory.get("opted_out") else None
        turn = await self.qualifier.turn(
            flow,
            text=message.text,
            memory=memory,
            slots=dict(lead.slots),
            details=dict(lead.details),
            skipped=list(lead.skipped),
            now=self.clock(),
            llm=llm,
        )
        if llm is not None:
            await self._account(conv.id, llm, llm.budget.record.summary(), llm.events)
        lead.slots, lead.details, lead.skipped = turn.slots, turn.details, turn.skipped
        lead.score = turn.score["score"]
        lead.grade = turn.score["grade"]
        lead.temperature = turn.score["temperature"]
        lead.score_reasons = turn.score["reasons"]
        change = _next_status(lead, turn)
        if change is not None:
            set_status(lead, *change)
        mode: Mode | None = None
        reason: HandoffReason | None = None
        if turn.decision == "handoff":
            mode, reason = "pending_human", turn.handoff_reason
        elif turn.decision == "unqualified" or (turn.decision == "closed" and conv.mode != "closed"):
            mode = "closed"
        notice = {"notice": "opted_out"} if turn.decision == "opt_out" else {}
        outs = (
            [Outbound(sender="bot", text=turn.reply, expects=turn.expects, meta=notice)] if turn.reply else []
        )
        saved = await self.store.save_turn(
            conv.id,
            state=dict(turn.memory),
            lead=lead,
            outs=outs,
            answered_seq=message.seq,
            mode=mode,
            handoff_reason=reason,
            opted_out=bool(turn.memory.get("opted_out")),
            guard={"mode": {"$in": list(BOT_MODES)}, **fenced},
            contacts_changed=bool({"email", "phone"} & set(turn.filled)),
        )
        if saved is None:  # an agent took the conversation while the bot was thinking
            log.info("bot reply dropped: conversation %s is no longer the bot's", conv.id)
            return None
        conv, lead, messages = saved
        await self.deliver(conv, messages, lead=lead)
        self.bus.publish(ConversationChanged(conv, lead))
        for event in turn_events(before, lead, conv, self.clock(), mode_before=mode_before):
            await self.lead_events.emit(event)
        if mode == "pending_human" and conv.mode == "pending_human" and self.on_handoff is not None:
            await self.on_handoff(conv, lead)  # routes and queues it, and says so on the bus
        if mode == "pending_human" and llm is not None:
            await self._spawn(self._summarize(conv.id, flow, llm, reason), f"summary:{conv.id}")
        return conv, messages[-1].seq if messages else message.seq

    async def _history(self, conv: Conversation, count: int) -> list[ChatMessage]:
        """The conversation's last `count` messages as the model sees them: no private notes, no
        notices, no empty messages; agents' replies count as the bot's side."""
        recent = await self.store.messages_after(conv.id, max(0, conv.last_seq - count))
        return [
            ChatMessage("visitor" if m.sender == "visitor" else "bot", m.text)
            for m in recent
            if not m.private and m.sender != "system" and m.text.strip()
        ]

    async def _llm_turn(self, conv: Conversation, flow: Flow, lead: Lead) -> LlmTurn | None:
        """LLM mode's part of this turn, when it is on for the server and the flow."""
        if self.llm is None or not flow.llm.enabled:
            return None
        config = self.llm.config
        history = await self._history(conv, HISTORY_MESSAGES)
        if not history or history[-1].role != "visitor":
            return None  # nothing of the visitor's to answer (a file without words …)

        async def on_delta(text: str, reset: bool) -> None:
            self.bus.publish(ReplyDelta(conv.id, text, reset=reset))

        return LlmTurn(
            client=self.llm.client(flow.llm.model),
            budget=Budget.for_turn(config.turn_seconds, config.prices),
            history=history,
            lead_contacts={c for c in (lead.email, lead.phone) if c},
            max_chars=REPLY_MAX_CHARS,
            max_output_tokens=flow.llm.max_output_tokens or config.max_output_tokens,
            on_delta=on_delta,
        )

    async def _account(
        self, conv_id: str, llm: LlmTurn, summary: dict[str, Any], events: list[str], *, turns: int = 1
    ) -> None:
        """LLM work's tokens, cost, failures and outcomes: on the conversation and in the metrics."""
        await self.store.add_llm_usage(conv_id, summary, events, turns=turns)
        if self.metrics is not None:
            self.metrics.observe_llm(llm.client.provider, llm.client.model, summary, events)

    async def _summarize(self, conv_id: str, flow: Flow, llm: LlmTurn, reason: str | None) -> None:
        """The handoff summary in the model's words, when it writes one that passes the checks."""
        assert self.llm is not None
        conv = await self.store.get_conversation(conv_id)
        lead = await self.store.get_lead(conv.lead_id)
        history = await self._history(conv, 2 * HISTORY_MESSAGES)
        budget = Budget.for_turn(self.llm.config.turn_seconds, self.llm.config.prices)
        text = await summarize_with_llm(
            llm.client,
            budget,
            flow,
            history,
            facts=lead.slots,
            lead_contacts={c for c in (lead.email, lead.phone) if c},  # those given in this turn too
            reason=reason,
        )
        outcome = ["summary" if text else "summary_failed"]
        await self._account(conv_id, llm, budget.record.summary(), outcome, turns=0)
        if text is None:
            return
        after = await self.store.transition(conv_id, expect={}, changes={"summary": text})
        if after is not None:
            self.bus.publish(ConversationChanged(after, lead))

    # -- outbound --------------------------------------------------------------------

    async def deliver(self, conv: Conversation, messages: list[Message], *, lead: Lead | None = None) -> None:
        """Fan stored messages out to listeners and hand them to the conversation's channel.

        A lead who opted out on a contact channel gets nothing more there but the
        confirmation itself; a refused or failed send is recorded on the message.
        Each bot message is then told as `message.sent` (`lead`: the lead as just saved, if
        the caller has it; read otherwise).
        """
        channel = self.channels.get(conv.channel)
        lead_opted_out: bool | None = None  # read once, and only when a contact channel needs it
        for message in messages:
            self.bus.publish(MessageCreated(message))
            if message.private or message.sender == "visitor" or channel is None:
                continue
            if conv.contact is not None:
                if lead_opted_out is None:
                    lead_opted_out = (await self.store.get_lead(conv.lead_id)).status == "opted_out"
                if lead_opted_out and message.meta.get("notice") != "opted_out":
                    await self.store.sent_as(message.id, None, "failed", "the lead opted out")
                    continue
            elif conv.opted_out and message.sender != "bot":
                continue
            try:
                provider_id = await channel.send(conv, message)
            except Exception as exc:  # the message is stored; the inbox shows it did not go out
                log.exception("channel %s could not send message %s", conv.channel, message.id)
                await self.store.sent_as(message.id, None, "failed", (str(exc) or type(exc).__name__)[:300])
                if self.on_send_failed is not None:
                    await self.on_send_failed(conv, message, exc)
                continue
            if provider_id is not None:
                await self.store.sent_as(message.id, provider_id, "queued")
        for message in messages:
            if message.sender == "bot" and not message.private:
                await self.emit_lead_event(
                    "message.sent",
                    conv,
                    lead,
                    message_id=message.id,
                    seq=message.seq,
                    expects=message.expects.slot if message.expects else None,
                    follow_up="follow_up" in message.meta,
                )

    async def emit_lead_event(
        self, kind: LeadEventKind, conv: Conversation, lead: Lead | None = None, **details: Any
    ) -> None:
        """Tell lead-event listeners what the store now has; never fails the change itself (it
        is stored already: a failure here must not make a channel send it again)."""
        try:
            lead = lead or await self.store.get_lead(conv.lead_id)
        except Exception:
            log.exception("lead event %s: could not read the lead of conversation %s", kind, conv.id)
            return
        await self.lead_events.emit(LeadEvent(kind, self.clock(), lead, conv, dict(details)))

    async def receive_from_contact(
        self,
        channel: str,
        contact: str,
        *,
        text: str,
        provider_id: str,
        lead_slots: Mapping[str, Any],
        meta: Mapping[str, Any] | None = None,
    ) -> tuple[Conversation, Message, bool]:
        """A message from a phone or email address: its conversation on that channel, opened
        on first contact (the lead's slots seeded, e.g. their phone), and the message recorded
        once per provider id. Returns (conversation, message, is_new)."""
        flow = await self.flows.for_channel(channel)
        conv, created = await self.store.conversation_for_contact(
            channel,
            contact,
            FlowRef(id=flow.id, version=flow.version),
            lead_slots,
            state=dict(self.qualifier.silent_opening()),
        )
        if created and flow.experiments:
            lead = await self.store.get_lead(conv.lead_id)
            conv, _ = await self._assign_variants(conv, lead, flow, subject=contact)
        if created:
            lead = await self.store.get_lead(conv.lead_id)
            if is_new_lead(lead, conv):  # not when its phone or email joined it to a known lead
                await self.lead_events.emit(lead_created(lead, conv, self.clock()))
        if (created or conv.last_seq == 0) and self.on_contact_start is not None:
            # No message yet: also a provider's retry after the first attempt failed midway.
            await self.on_contact_start(conv)
        inbound = Inbound(
            channel=channel,
            conversation_id=conv.id,
            text=text,
            provider_id=provider_id,
            meta=dict(meta or {}),
        )
        stored, is_new = await self.receive(inbound)
        return conv, stored, is_new
