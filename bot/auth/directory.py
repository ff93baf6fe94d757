"""Finds agents by id or email for actions that name one (a transfer)."""

from __future__ import annotations

from typing import Any

from bot.auth.users import User, Users


class UserDirectory:
    def __init__(self, users: Users) -> None:
        self.users = users

    async def find(self, ref: Any) -> User | None:
        """An active user by id or email; None for anything else."""
        if not isinstance(ref, str) or not ref.strip():
            return None
        ref = ref.strip()
        user = await self.users.by_email(ref.lower()) if "@" in ref else await self.users.get(ref)
        return user if user is not None and not user.disabled else None
