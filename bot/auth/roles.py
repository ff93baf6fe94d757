"""The roles a user has. An admin is an agent too: admins can take conversations."""

from __future__ import annotations

from typing import Final, Literal, get_args

Role = Literal["agent", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)


def acts_as(has: Role, needed: Role) -> bool:
    return has == needed or has == "admin"
