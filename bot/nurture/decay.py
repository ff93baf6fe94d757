"""Score decay: a lead who stays silent loses points, as the flow's `decay` section says.

Each message from the lead starts a silence (`nurture_decay` keeps when, and in which
conversation, whose pinned flow's `decay` applies) and schedules the first loss on the job queue
under `decay:<lead id>`: after `after` the score drops by `points`, then again every `every`,
never below `floor`, and it stops there. Each loss is written to the lead with its grade and
temperature re-derived by the flow's scoring bands, and recorded in the lead's
`score_history` with the reason ("score 80 → 70: 14 days without a reply").

When the lead writes again the pending loss is cancelled and the score the flow gives their
answers comes back ("score 60 → 80: the lead wrote again"), as a bot turn would re-score
them anyway; a lead with an outcome (converted, lost) no longer decays.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from bot import keys
from bot.bus import ConversationChanged
from bot.flows import Flow
from bot.jobs import Job
from bot.lead_events import LeadEvent
from bot.models import Conversation, Lead, ScoreChange
from bot.nurture.duration import describe_duration
from bot.nurture.records import DecayRecords
from bot.nurture.schema import Decay
from bot.scoring import grade_for, score_lead, temperature_for
from bot.store import NotFound

log = logging.getLogger(__name__)

KIND = "nurture.decay"
_DECIDED = ("converted", "lost")


def job_key(lead_id: str) -> str:
    return f"decay:{lead_id}"


class ScoreChanged(RuntimeError):
    """The lead's score changed while a loss was being worked out; the job runs again."""


def _loss_made(lead: Lead, since: datetime, decay: Decay, round_number: int) -> bool:
    """Whether the lead's history has this silence's loss number `round_number`."""
    ending = f": {describe_duration(decay.silence_before(round_number))} without a reply"
    return any(change.reason.endswith(ending) and _aware(change.at) >= since for change in lead.score_history)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # MongoDB's are naive


class ScoreDecay:
    """Services are read from the app when used: the store opens after this is built."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    @property
    def _records(self) -> DecayRecords:
        return DecayRecords(self._app[keys.STORE])

    # -- lead events -------------------------------------------------------------------

    async def on_event(self, event: LeadEvent) -> None:
        if event.kind == "message.received" and event.conversation is not None:
            await self._lead_wrote(event.lead, event.conversation, event.at)
        elif event.kind in ("lead.converted", "lead.lost"):
            await self._app[keys.JOBS].cancel(job_key(event.lead.id))

    async def _lead_wrote(self, lead: Lead, conv: Conversation, at: datetime) -> None:
        records = self._records
        record = await records.get(lead.id)
        flow = await self._app[keys.FLOWS].for_conversation(conv)
        if record is not None:
            await self._app[keys.JOBS].cancel(job_key(lead.id))
            if record.rounds > 0:
                await self._restore(lead, conv, flow, at)
        if flow.decay is None:
            if record is not None:
                await records.erase(lead.id)
            return
        await records.begin(lead.id, conv.id, at)
        payload = {"lead_id": lead.id, "conversation_id": conv.id, "round": 1}
        run_at = at + flow.decay.silence_before(1)
        await self._app[keys.JOBS].schedule(
            KIND, payload, key=job_key(lead.id), run_at=run_at, subject=lead.id
        )

    async def _restore(self, lead: Lead, conv: Conversation, flow: Flow, at: datetime) -> None:
        """The score the lead's answers earn, back once they write again."""
        earned = score_lead(lead.slots, flow).score
        if earned == lead.score:
            return
        try:
            await self._set_score(
                lead, conv, flow, earned, f"score {lead.score} → {earned}: the lead wrote again", at
            )
        except ScoreChanged:
            log.info("lead %s: score changed as it came back; the bot's turn re-scores it", lead.id)

    # -- a loss falls due ----------------------------------------------------------------

    async def run(self, job: Job) -> None:
        lead_id, conv_id, round_number = (
            str(job.payload["lead_id"]),
            str(job.payload["conversation_id"]),
            int(job.payload["round"]),
        )
        records = self._records
        record = await records.get(lead_id)
        if record is None or record.conversation_id != conv_id:
            return  # stale: the lead wrote since
        # Counted already: an earlier run of this job counted the round, then failed (the store
        # went away) before it was done; this run finishes it (the loss, the next round).
        counted = record.rounds == round_number
        if not counted and record.rounds != round_number - 1:
            return  # stale: this loss was made by an earlier run
        store = self._app[keys.STORE]
        try:
            conv = await store.get_conversation(conv_id)
            lead = await store.get_lead(lead_id)
        except NotFound:
            await records.erase(lead_id)  # erased, or merged into another lead
            return
        flow = await self._app[keys.FLOWS].for_conversation(conv)
        decay = flow.decay
        if decay is None or lead.status in _DECIDED or lead.score <= decay.floor:
            return
        if not counted and not await records.count_round(record, round_number):
            return  # the lead wrote meanwhile: a new silence has its own schedule
        if counted and _loss_made(lead, record.since, decay, round_number):
            lowered = lead.score
        else:
            lowered = await self._lower(lead, conv, flow, decay, round_number)
        if lowered > decay.floor:
            payload = {"lead_id": lead_id, "conversation_id": conv_id, "round": round_number + 1}
            run_at = record.since + decay.silence_before(round_number + 1)
            await self._app[keys.JOBS].schedule(
                KIND, payload, key=job_key(lead_id), run_at=run_at, subject=lead_id
            )

    async def _lower(
        self, lead: Lead, conv: Conversation, flow: Flow, decay: Decay, round_number: int
    ) -> int:
        """Take this round's points off (a turn may save the lead at the same moment: read it
        again then); the score after."""
        silent = describe_duration(decay.silence_before(round_number))
        for _ in range(3):
            lowered = max(decay.floor, lead.score - decay.points)
            if lowered == lead.score:
                return lowered
            reason = f"score {lead.score} → {lowered}: {silent} without a reply"
            try:
                await self._set_score(lead, conv, flow, lowered, reason, self._app[keys.CLOCK]())
                return lowered
            except ScoreChanged:
                lead = await self._app[keys.STORE].get_lead(lead.id)
        log.warning("lead %s: score kept changing; decay round %d not applied", lead.id, round_number)
        return lead.score

    async def _set_score(
        self, lead: Lead, conv: Conversation, flow: Flow, score: int, reason: str, at: datetime
    ) -> None:
        """Write the score with its grade, temperature and reason; tell the inbox and listeners."""
        grade, temperature = grade_for(score, flow.scoring), temperature_for(score, flow.scoring)
        change = ScoreChange(at=at, score=score, reason=reason)
        store = self._app[keys.STORE]
        if not await store.change_score(
            lead.id, expect=lead.score, change=change, grade=grade, temperature=temperature
        ):
            raise ScoreChanged(f"lead {lead.id}: the score changed while it was being lowered")
        after = lead.model_copy(
            update={
                "score": score,
                "grade": grade,
                "temperature": temperature,
                "score_history": [*lead.score_history, change],
            }
        )
        self._app[keys.BUS].publish(ConversationChanged(conv, after))
        details = {"score": {"from": lead.score, "to": score}, "reason": reason}
        await self._app[keys.LEAD_EVENTS].emit(LeadEvent("lead.updated", at, after, conv, details))
