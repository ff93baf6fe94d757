"""Passwords: argon2id hashes, checked off the event loop, and the rules a new password meets.

Hashing and checking take tens of milliseconds of CPU and 64 MiB each on purpose (that is
what makes guessing expensive), so they run in a worker thread: the event loop keeps
serving every socket while a sign-in is checked.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.auth.errors import WeakPassword

MIN_LENGTH: Final = 8
# Long enough for any passphrase; short enough that nobody makes us hash megabytes.
MAX_LENGTH: Final = 1024


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters")
    if password.strip() == "":
        raise WeakPassword("the password must not be only spaces")


def generate_password() -> str:
    # 18 random bytes → 24 URL-safe characters, 144 bits: strong and still typeable.
    return secrets.token_urlsafe(18)


class Passwords:
    """argon2id with argon2-cffi's defaults; one per application (it keeps the dummy hash)."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str, password: str) -> bool:
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with weaker parameters than today's defaults."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def verify_nothing(self, password: str) -> None:
        """Spend the time a real check takes, for an unknown email: the answer must not tell
        an attacker whether the account exists."""
        # Made on first need, not at startup: every app (and test) would pay for it otherwise.
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy, password)
