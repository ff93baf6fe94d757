"""How the page names funnel stages, timing measures and handoff outcomes."""

from __future__ import annotations

from typing import Final

STAGE_LABELS: Final = {
    "conversations": "Conversations",
    "engaged": "Engaged",
    "qualified": "Qualified",
    "handed_off": "Handed off",
    "converted": "Converted",
}

TIMING_LABELS: Final = {
    "bot_response": "Bot response",
    "queue_wait": "Wait in the queue",
    "first_agent_reply": "First agent reply",
}

HANDOFF_LABELS: Final = {
    "waiting": "Still waiting",
    "with_agent": "With an agent",
    "converted": "Closed: converted",
    "lost": "Closed: lost",
    "closed_without_outcome": "Closed without outcome",
    "back_with_bot": "Back with the bot",
}
