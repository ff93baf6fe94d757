"""Failed sign-ins, counted per account and per client address, with growing lockouts.

After `MAX_FAILURES` failures within `WINDOW`, the next attempt is refused and the key is
locked for `FIRST_LOCKOUT`, doubling with each further lockout (up to `MAX_LOCKOUT`) until
the key has been quiet for a whole window after its last lockout. A locked account refuses
even the right password: that is what makes guessing slow.

An attempt counts as failed from the moment it starts and is taken back when it succeeds:
attempts sent in parallel cannot all slip through while the first ones are still hashing.

This class keeps the records in memory (one process); `SharedLoginThrottle`
(bot/auth/shared_throttle.py) keeps the same records in Redis for every process and falls back
to this one while Redis is away. Every time is read from the injected clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

MAX_FAILURES: Final = 5
WINDOW: Final = timedelta(minutes=15)
FIRST_LOCKOUT: Final = timedelta(minutes=1)
MAX_LOCKOUT: Final = timedelta(hours=1)
# Longer account names (whatever was typed as the email) are kept as a digest: a record's key
# should not cost what a 1 MB form field costs.
MAX_ACCOUNT_KEY: Final = 320
# Beyond this many keys, forgotten ones are swept out so a spray of made-up emails
# cannot grow memory without bound.
SWEEP_ABOVE: Final = 10_000


@dataclass
class _Record:
    failures: list[datetime] = field(default_factory=list)
    lockouts: int = 0
    locked_until: datetime | None = None


def throttle_keys(account: str, address: str) -> tuple[str, str]:
    """The records an attempt counts against: its account's, then its client address's."""
    name = account.strip().lower()
    if len(name) > MAX_ACCOUNT_KEY:
        name = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    return f"account:{name}", f"address:{address}"


def _lockout(count: int) -> timedelta:
    return min(FIRST_LOCKOUT * (1 << min(count - 1, 20)), MAX_LOCKOUT)


class LoginThrottle:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def _forgettable(self, record: _Record, now: datetime) -> bool:
        record.failures = [at for at in record.failures if now - at < WINDOW]
        if record.failures:
            return False
        return record.locked_until is None or now >= record.locked_until + WINDOW

    def _record(self, key: str, now: datetime) -> _Record:
        record = self._records.get(key)
        if record is None or self._forgettable(record, now):
            record = self._records[key] = _Record()
        return record

    def begin(self, account: str, address: str) -> timedelta | None:
        """How long to wait before trying again, or None: go ahead (counted as a failure
        until `succeeded`)."""
        now = self._clock()
        records = [self._record(key, now) for key in throttle_keys(account, address)]
        wait = timedelta(0)
        for record in records:
            until = record.locked_until
            if until is None or now >= until:
                if len(record.failures) < MAX_FAILURES:
                    continue
                record.lockouts += 1
                until = record.locked_until = now + _lockout(record.lockouts)
                record.failures.clear()  # these failures are paid for by this lockout
            wait = max(wait, until - now)
        if wait:
            return wait
        for record in records:
            record.failures.append(now)
        self._sweep(now)
        return None

    def succeeded(self, account: str, address: str) -> None:
        """The attempt was right: the account starts afresh; the address only gets back the
        attempt (other accounts' failures from it still count)."""
        account_key, address_key = throttle_keys(account, address)
        self._records.pop(account_key, None)
        record = self._records.get(address_key)
        if record is not None and record.failures:
            record.failures.pop()

    def _sweep(self, now: datetime) -> None:
        if len(self._records) > SWEEP_ABOVE:
            for key in [k for k, r in self._records.items() if self._forgettable(r, now)]:
                del self._records[key]
