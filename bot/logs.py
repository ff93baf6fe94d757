"""Logging: plain lines for a terminal, or one JSON object per line for a log pipeline
(LEADBOT_LOG_FORMAT=json), each carrying the conversation it is about.

The conversation id travels in a context variable: set where work on a conversation begins
(a turn, an inbound message), it is on every log record made while doing that work, in
whatever module, without being passed around.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
CONVERSATION: ContextVar[str | None] = ContextVar("conversation_id", default=None)


class ConversationFilter(logging.Filter):
    """Puts the current conversation id (or None) on every record as `conversation_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "conversation_id", None) is None:
            record.conversation_id = CONVERSATION.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "conversation_id": getattr(record, "conversation_id", None) or CONVERSATION.get(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(conversation_id)s]: %(message)s"


def setup_logging(fmt: LogFormat, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ConversationFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
