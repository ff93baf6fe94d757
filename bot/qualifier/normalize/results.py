"""What a normaliser returns, and the candidates a `find_*` scan locates in a message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Parsed:
    value: Any  # normalised JSON-able slot value
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    reason: str  # e.g. "email_no_domain", "phone_invalid", "number_out_of_range"


@dataclass(frozen=True)
class Found:
    """A candidate value located at text[start:end]."""

    start: int
    end: int
    result: Parsed | Rejected
    strength: int = 0


Outcome = Parsed | Rejected | None


def best(found: Sequence[Found]) -> Found | None:
    """The strongest candidate; the earliest among equals."""
    if not found:
        return None
    return min(found, key=lambda f: (-f.strength, f.start))
