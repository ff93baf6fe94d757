"""What can go wrong with an account request; every message is written for people."""

from __future__ import annotations


class UserError(ValueError):
    """A request about users that cannot be done; the message says why."""


class InvalidEmail(UserError):
    pass


class DuplicateEmail(UserError):
    pass


class UnknownUser(UserError, LookupError):
    pass


class WeakPassword(UserError):
    """A new password that does not meet the rules; the message says which."""
