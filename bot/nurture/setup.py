"""`setup_nurture(app)`: follow-ups and score decay, wired into create_app.

Both run as jobs on `app[keys.JOBS]` (so they survive restarts and, with Redis, run on any
process) and are scheduled and cancelled by lead events. Their records are erased and exported
with the lead's other data (bot/privacy).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import keys
from bot.jobs import Retry
from bot.nurture import decay, follow_ups
from bot.nurture.records import DecayRecords, FollowUpRecords

# A follow-up or a loss that fails (the store or a channel is down) is tried again a few times;
# sooner than the default, since a follow-up an hour late reads oddly.
RETRY = Retry(attempts=5, first_delay_seconds=60.0, max_delay_seconds=3600.0)


def setup_nurture(app: web.Application) -> None:
    """Call in create_app once `app[keys.JOBS]` and `app[keys.LEAD_EVENTS]` exist."""
    sender, decayer = follow_ups.FollowUps(app), decay.ScoreDecay(app)
    app[keys.JOBS].handle(follow_ups.KIND, sender.run, RETRY)
    app[keys.JOBS].handle(decay.KIND, decayer.run, RETRY)
    app[keys.LEAD_EVENTS].listen(sender.on_event)
    app[keys.LEAD_EVENTS].listen(decayer.on_event)

    async def erase(lead_id: str, conversation_ids: list[str]) -> None:
        store = app[keys.STORE]
        await FollowUpRecords(store).erase(conversation_ids)
        await DecayRecords(store).erase(lead_id)

    async def export(lead_id: str, conversation_ids: list[str]) -> Any:
        store = app[keys.STORE]
        return {
            "follow_ups": await FollowUpRecords(store).export(conversation_ids),
            "decay": await DecayRecords(store).export(lead_id),
        }

    app[keys.ERASERS].register("nurture", erase)
    app[keys.EXPORTERS].register("nurture", export)
