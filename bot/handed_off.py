"""Whether a conversation went to people at some point: one definition for the analytics funnel
(as a pipeline expression, bot/analytics/pipelines.py) and the A/B tests' results
(bot/experiments/outcomes.py), so both count the same conversations as handed off.

It went to people when the bot or an agent queued it, or an agent took it (a takeover from the
bot counts too). Several fields say so because each can be cleared later: the reason survives a
claim, `handed_off_at` and `claimed_at` survive a release back to the bot or a close.
"""

from __future__ import annotations

from typing import Final

from bot.models import Conversation

HANDED_OFF_FIELDS: Final = ("handoff_reason", "handed_off_at", "queued_at", "claimed_at", "agent_id")


def was_handed_off(conv: Conversation) -> bool:
    return any(getattr(conv, name) is not None for name in HANDED_OFF_FIELDS)
