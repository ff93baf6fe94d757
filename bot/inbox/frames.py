"""The frames of the agent socket `/ws/inbox` (docs/handoff.md lists them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from bot.api.views import attachment_json, message_json
from bot.auth.users import User
from bot.dispatch import Offer, Presence
from bot.frames import FrameError
from bot.inbox.package import offer_json
from bot.models import Message

MAX_ID: Final = 100
PRESENCES: Final = ("online", "away")


def hello_frame(user: User, presence: Presence, offers: list[Offer], now: datetime) -> dict[str, Any]:
    return {
        "type": "hello",
        "agent": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "teams": user.teams,
            "capacity": user.capacity,
        },
        "presence": presence,
        "offers": [offer_json(offer) for offer in offers],
        "now": now.isoformat(),
    }


def message_frame(message: Message) -> dict[str, Any]:
    """A message of the open conversation, private notes included (agents only ever)."""
    return {"type": "message", "conversation_id": message.conversation_id, **message_json(message)}


def attachments_frame(message: Message) -> dict[str, Any]:
    """A shown message's files, stored after it was (media are fetched after Twilio's ack)."""
    return {
        "type": "attachments",
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "attachments": [attachment_json(a) for a in message.attachments],
    }


def activity_frame(message: Message) -> dict[str, Any]:
    """Something was written in a listed conversation that is not open: enough for a dot."""
    return {
        "type": "activity",
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "from": message.sender,
        "private": message.private,
    }


def conversation_id(frame: dict[str, Any]) -> str:
    value = frame.get("conversation_id")
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise FrameError(
            "bad_frame", f"{frame.get('type')} needs conversation_id, a string of 1 to {MAX_ID} characters"
        )
    return value


def presence_status(frame: dict[str, Any]) -> str:
    status = frame.get("status")
    if status not in PRESENCES:
        raise FrameError("bad_frame", 'presence needs status "online" or "away"')
    assert isinstance(status, str)
    return status
