"""WhatsApp's customer-service window: free text only within 24 hours of the lead's last message.

Outside it WhatsApp accepts only pre-approved templates, so a reply then goes as the flow's
template (channels/twilio_send.py) and the inbox shows the window (bot/api/views.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.models import Conversation

WHATSAPP = "whatsapp"
WINDOW = timedelta(hours=24)


def window_closes_at(conv: Conversation) -> datetime | None:
    """When free text stops being allowed; None when the lead never wrote (it never opened)."""
    return conv.last_inbound_at + WINDOW if conv.last_inbound_at is not None else None


def window_open(conv: Conversation, now: datetime) -> bool:
    closes_at = window_closes_at(conv)
    return closes_at is not None and now < closes_at
