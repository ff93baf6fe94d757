"""Domain errors raised by the services; the API turns them into JSON with a status."""

from __future__ import annotations


class StoreLocked(RuntimeError):
    """Another process has the embedded store open; two would overwrite each other's snapshots."""


class Refused(Exception):
    """The action is not allowed now; `status` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(Refused):
    status = 422
    code = "invalid"


class Conflict(Refused):
    """Someone else changed the conversation first (another agent claimed it, the bot closed it …)."""

    status = 409
    code = "conflict"
