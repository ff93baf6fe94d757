"""One rule's sliding window kept in this process: what it can still enforce while Redis is away.

The same rule as the Redis script (bot/rate_shared.py): a use at time t counts during
[t, t + window); a use is allowed while fewer than `limit` count; a refused use is not counted.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from bot.settings import Rate

# Beyond this many keys (addresses, conversations), forgotten ones are swept out so a spray of
# addresses cannot grow memory without bound.
SWEEP_ABOVE: Final = 10_000


class LocalWindow:
    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._uses: dict[str, deque[float]] = {}
        self._sweep_at = SWEEP_ABOVE

    def hit(self, key: str, now: float) -> float | None:
        """Count one use at `now` (seconds): None if allowed, else seconds until it would be."""
        limit, window = self.rate.limit, self.rate.window_seconds
        uses = self._uses.setdefault(key, deque())
        while uses and uses[0] <= now - window:
            uses.popleft()
        if len(uses) < limit:
            uses.append(now)
            self._sweep(now)
            return None
        # The use that has to leave the window before another one fits.
        leaving = uses[len(uses) - limit]
        return min(max(leaving + window - now, 0.001), window)

    def _sweep(self, now: float) -> None:
        # Amortised: a full pass only once the table has doubled since the last one.
        if len(self._uses) <= self._sweep_at:
            return
        stale = now - self.rate.window_seconds
        for key in [k for k, uses in self._uses.items() if not uses or uses[-1] <= stale]:
            del self._uses[key]
        self._sweep_at = max(SWEEP_ABOVE, 2 * len(self._uses))
