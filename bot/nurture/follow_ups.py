"""Follow-ups to a lead who went silent: scheduled on lead events, checked again when due.

A silence starts when a bot message leaves the lead with an open question (`mid_qualification`:
the bot owns the conversation, the message asks for a slot, the lead has written before) or
when the bot closes the conversation because the lead did not qualify (`unqualified`, once per
conversation). Its first step is scheduled on the job queue under `nurture:<conversation id>`;
the lead writing, an agent claiming it or the bot handing it off cancels it.

When a step is due everything is checked again, since events can be missed (another process,
a restart): the lead has not written since (in any of their conversations), nobody else owns
the conversation, the lead has not opted out and has no outcome. Then, on the conversation's own flow version:
- in quiet hours, or outside business hours when the flow keeps to them, the step moves to the
  next allowed moment;
- otherwise its text (placeholders filled from the lead) is stored as a bot message marked
  `meta.follow_up` and sent on the lead's own channel through `Conversations.deliver`; on
  WhatsApp with its 24-hour window closed the step's own template goes instead, and a step
  without one is skipped (a private note says so in the inbox);
- the next step is scheduled, counted from when the silence started.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from bot import keys
from bot.jobs import Job
from bot.lead_events import LeadEvent
from bot.models import Conversation, Lead, Outbound
from bot.nurture.records import FollowUpRecord, FollowUpRecords, LogEntry
from bot.nurture.schema import FollowUpStep, Nurture, Situation
from bot.nurture.timing import next_allowed
from bot.store import NotFound
from bot.whatsapp_template import TemplateValueMissing, fill_placeholders
from channels.twilio_window import WHATSAPP, window_open

log = logging.getLogger(__name__)

KIND = "nurture.follow_up"
# Outcomes recorded on the lead that end any nurturing: someone decided about this person.
_DECIDED = ("converted", "lost")


def job_key(conv_id: str) -> str:
    return f"nurture:{conv_id}"


def situation_after(conv: Conversation, lead: Lead, asks: bool) -> Situation | None:
    """The silence a bot message opens, if any; `asks`: it asks the lead for a slot."""
    if lead.status in _DECIDED or lead.status == "opted_out" or conv.opted_out:
        return None
    if conv.mode == "bot" and asks and conv.answered_seq > 0 and conv.agent_id is None:
        return "mid_qualification"
    if conv.mode == "closed" and lead.status == "unqualified" and conv.outcome is None:
        return "unqualified"
    return None


class Skipped(Exception):
    """This step cannot go to this lead; the reason is recorded and the next step follows."""


class FollowUps:
    """Services are read from the app when used: the store opens after this is built."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    @property
    def _records(self) -> FollowUpRecords:
        return FollowUpRecords(self._app[keys.STORE])

    def _now(self) -> datetime:
        return self._app[keys.CLOCK]()

    # -- lead events -------------------------------------------------------------------

    async def on_event(self, event: LeadEvent) -> None:
        conv = event.conversation
        if conv is None:
            return
        flow = await self._app[keys.FLOWS].for_conversation(conv)  # cached: no I/O on every turn
        if flow.nurture is None:
            return  # a conversation pinned to a flow without follow-ups never has any to begin or end
        if event.kind == "message.sent" and not event.details.get("follow_up"):
            await self._after_bot_message(
                conv, flow.nurture, event.lead, bool(event.details.get("expects")), event.at
            )
        elif event.kind == "message.received":
            await self.stop(conv.id, "the lead wrote", event.at)
        elif event.kind in ("conversation.claimed", "conversation.handed_off"):
            await self.stop(conv.id, "a person has the conversation", event.at)
        elif event.kind in ("lead.converted", "lead.lost"):
            await self.stop(conv.id, f"the lead's outcome was recorded ({event.kind})", event.at)
        elif event.kind == "conversation.closed" and conv.outcome is not None:
            await self.stop(conv.id, "an agent closed the conversation", event.at)

    async def _after_bot_message(
        self, conv: Conversation, nurture: Nurture, lead: Lead, asks: bool, at: datetime
    ) -> None:
        situation = situation_after(conv, lead, asks)
        records = self._records
        record = await records.get(conv.id)
        if situation == "unqualified" and record is not None and record.unqualified_started:
            return  # they ran (or are running) already; a reply after the close does not restart them
        first = nurture.first_step(situation) if situation else None
        if situation is None or first is None:
            if record is not None and record.step is not None:
                await self.stop(conv.id, "the bot's message leaves no question open", at)
            return
        record = await records.begin(
            conv.id,
            lead_id=lead.id,
            situation=situation,
            since=at,
            visitor_seq=conv.answered_seq,
            step=first,
        )
        await self._schedule(record, first, at + nurture.steps[first].delay)

    async def stop(self, conv_id: str, why: str, at: datetime) -> None:
        """End the current silence's follow-ups (read first: most messages have none to end)."""
        record = await self._records.get(conv_id)
        if record is None or record.step is None:
            return
        await self._app[keys.JOBS].cancel(job_key(conv_id))
        await self._records.stop(conv_id, LogEntry(at=at, outcome="stopped", detail=why))

    async def _schedule(self, record: FollowUpRecord, step: int, run_at: datetime) -> None:
        payload = {"conversation_id": record.conversation_id, "lead_id": record.lead_id, "step": step}
        await self._app[keys.JOBS].schedule(
            KIND, payload, key=job_key(record.conversation_id), run_at=run_at, subject=record.lead_id
        )

    # -- a step falls due ----------------------------------------------------------------

    async def run(self, job: Job) -> None:
        conv_id, step = str(job.payload["conversation_id"]), int(job.payload["step"])
        records = self._records
        record = await records.get(conv_id)
        if record is None or record.step != step:
            return  # stale: a new silence began, or this step was dealt with by an earlier run
        now = self._now()
        store = self._app[keys.STORE]
        try:
            conv = await store.get_conversation(conv_id)
            lead = await store.get_lead(conv.lead_id)
        except NotFound:
            await records.stop(conv_id, LogEntry(at=now, outcome="stopped", step=step, detail="gone"))
            return
        flow = await self._app[keys.FLOWS].for_conversation(conv)
        nurture = flow.nurture
        if nurture is None or step >= len(nurture.steps):
            await records.stop(conv_id, LogEntry(at=now, outcome="stopped", step=step, detail="no such step"))
            return
        why_not = await self._why_not(conv, lead, record)
        if why_not is not None:
            await records.stop(conv_id, LogEntry(at=now, outcome="stopped", step=step, detail=why_not))
            return
        allowed = next_allowed(nurture, flow.business_hours, now)
        if allowed is not None and allowed > now:
            moved = LogEntry(at=now, outcome="moved", step=step, detail=f"to {allowed.isoformat()}")
            if await records.note(record, moved):
                await self._schedule(record, step, allowed)
            return
        try:
            if allowed is None:
                raise Skipped("the quiet hours leave no business hours to send in")
            out = self._message(conv, lead, record, nurture.steps[step], step, now)
            await self._send(conv, lead, record, out)
            entry = LogEntry(at=now, outcome="sent", step=step)
        except Skipped as skipped:
            entry = LogEntry(at=now, outcome="skipped", step=step, detail=str(skipped))
            await self._note_skipped(conv, step, str(skipped))
        await self._next(record, nurture, entry, now)

    async def _why_not(self, conv: Conversation, lead: Lead, record: FollowUpRecord) -> str | None:
        """Why no follow-up may go now (the follow-ups end), or None."""
        store = self._app[keys.STORE]
        if await store.last_visitor_seq(conv.id) > record.visitor_seq:
            return "the lead wrote"
        # The same person (one lead) may write on another channel: they answered us all the same.
        elsewhere = {"lead_id": lead.id, "_id": {"$ne": conv.id}, "last_inbound_at": {"$gt": record.since}}
        if await store.conversations.find_one(elsewhere, projection={"_id": 1}) is not None:
            return "the lead wrote in another conversation"
        if conv.opted_out or lead.status == "opted_out":
            return "the lead opted out"
        if lead.status in _DECIDED or conv.outcome is not None:
            return "the lead's outcome is recorded"
        if conv.agent_id is not None or conv.mode in ("human", "pending_human"):
            return "a person has the conversation"
        if record.situation == "mid_qualification" and conv.mode != "bot":
            return "the conversation is closed"
        if record.situation == "unqualified" and (conv.mode != "closed" or lead.status != "unqualified"):
            return "the lead is no longer unqualified"
        return None

    def _message(
        self,
        conv: Conversation,
        lead: Lead,
        record: FollowUpRecord,
        step: FollowUpStep,
        index: int,
        now: datetime,
    ) -> Outbound:
        """The follow-up as a bot message; Skipped when it cannot go to this lead."""
        meta: dict[str, Any] = {
            "follow_up": {"step": index, "situation": record.situation, "run": record.run}
        }
        try:
            text = fill_placeholders(step.text, lead.slots)
            if conv.channel == WHATSAPP and not window_open(conv, now):
                if step.whatsapp is None:
                    raise Skipped(
                        f"WhatsApp's 24-hour window is closed and follow-up step {index} "
                        "has no template (nurture.steps.N.whatsapp)"
                    )
                meta["whatsapp_template"] = {
                    "template_sid": step.whatsapp.template_sid,
                    "variables": step.whatsapp.render(lead.slots),
                }
        except TemplateValueMissing as exc:
            raise Skipped(str(exc)) from None
        return Outbound(sender="bot", text=text, meta=meta)

    async def _send(self, conv: Conversation, lead: Lead, record: FollowUpRecord, out: Outbound) -> None:
        """Store and send it, once: a job run again after a crash finds it stored already."""
        store = self._app[keys.STORE]
        mark = out.meta["follow_up"]
        for earlier in await store.messages_after(conv.id, record.visitor_seq):
            if earlier.meta.get("follow_up") == mark:
                return
        # Only while nobody else took the conversation in the meantime.
        guard = {"mode": conv.mode, "agent_id": None, "opted_out": False}
        messages = await store.append(conv.id, [out], guard=guard)
        if messages is None:
            raise Skipped("the conversation changed hands as the follow-up was due")
        await self._app[keys.CONVERSATIONS].deliver(conv, messages, lead=lead)

    async def _note_skipped(self, conv: Conversation, step: int, why: str) -> None:
        """A private note, so agents see in the inbox why a follow-up did not go."""
        note = Outbound(
            sender="system",
            text=f"Follow-up {step + 1} not sent: {why}.",
            private=True,
            meta={"follow_up_skipped": {"step": step}},
        )
        messages = await self._app[keys.STORE].append(conv.id, [note]) or []
        await self._app[keys.CONVERSATIONS].deliver(conv, messages)

    async def _next(self, record: FollowUpRecord, nurture: Nurture, entry: LogEntry, now: datetime) -> None:
        """Schedule the step after this one, counted from the silence's start; never two at once:
        one overdue (this step waited for the quiet hours) keeps its distance from this one."""
        assert record.step is not None
        following = nurture.step_after(record.step, record.situation)
        if not await self._records.move_on(record, following, entry):
            return  # a new silence began while this step ran
        if following is None:
            return
        this, then = nurture.steps[record.step], nurture.steps[following]
        run_at = record.since + then.delay
        if run_at <= now:
            run_at = now + (then.delay - this.delay)
        await self._schedule(record, following, run_at)
