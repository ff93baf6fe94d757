"""Users: the agents and admins who sign in, and the `Users` repository over `users`.

Documents: `_id`, `email` (validated, lower-cased, unique), `name`, `role`, `teams`,
`capacity`, `disabled`, `created_at`, `password_hash` (argon2id) and, once issued,
`api_token_hash` (SHA-256 of the per-user API token; the token itself is never stored).
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.auth.emails import normalize_email
from bot.auth.errors import DuplicateEmail, InvalidEmail, UnknownUser, UserError
from bot.auth.passwords import Passwords, check_new_password
from bot.auth.roles import ROLES, Role, acts_as
from bot.store import Store, new_id, token_hash

MAX_NAME: Final = 200
MAX_TEAM: Final = 64
MAX_CAPACITY: Final = 1000
# Longer than any token we issue; anything longer is refused without a lookup.
MAX_TOKEN: Final = 200
API_TOKEN_ADMIN_ID: Final = "api-token"


class User(BaseModel):
    """Someone who signs in to the inbox. An admin is an agent too (can take conversations)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    email: str
    name: str
    role: Role
    teams: list[str] = Field(default_factory=list)
    capacity: int = Field(default=5, ge=0, le=MAX_CAPACITY)
    disabled: bool = False
    created_at: datetime

    def acts_as(self, role: Role) -> bool:
        return acts_as(self.role, role)


def api_token_admin() -> User:
    """Who a request made with the admin API token (`keys.API_TOKEN`) acts as."""
    return User(
        id=API_TOKEN_ADMIN_ID,
        email="",
        name="Admin (API token)",
        role="admin",
        created_at=datetime(1970, 1, 1, tzinfo=UTC),
    )


def _teams(raw: Iterable[str]) -> list[str]:
    teams: list[str] = []
    for team in raw:
        name = team.strip()
        if not name:
            raise UserError("a team name must not be empty")
        if len(name) > MAX_TEAM:
            raise UserError(f"team names must have at most {MAX_TEAM} characters")
        if name not in teams:
            teams.append(name)
    return teams


def _display_name(name: str | None, address: str) -> str:
    # Visitors see it when an agent joins: the part before the @ rather than the whole address.
    shown = (name or "").strip() or address.split("@", 1)[0]
    if len(shown) > MAX_NAME:
        raise UserError(f"the name must have at most {MAX_NAME} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in shown):
        raise UserError("the name must not contain control characters (tabs, line breaks …)")
    return shown


def _user(doc: Mapping[str, Any]) -> User:
    return User.model_validate({**doc, "id": doc["_id"]})


class Users:
    """The accounts, over `store.collection("users")`."""

    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], passwords: Passwords | None = None
    ) -> None:
        self._users = store.collection("users")
        self._clock = clock
        self.passwords = passwords or Passwords()

    async def ensure_indexes(self) -> None:
        await self._users.create_index([("email", ASCENDING)], name="email", unique=True)
        await self._users.create_index(
            [("api_token_hash", ASCENDING)], name="api_token", unique=True, sparse=True
        )

    async def add(
        self,
        email: str,
        password: str,
        *,
        role: str,
        name: str | None = None,
        teams: Iterable[str] = (),
        capacity: int = 5,
    ) -> User:
        address = normalize_email(email)
        check_new_password(password)
        shown = _display_name(name, address)
        if role not in ROLES:
            raise UserError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        if not 0 <= capacity <= MAX_CAPACITY:
            raise UserError(f"the capacity must be between 0 and {MAX_CAPACITY}, not {capacity}")
        user = User(
            id=new_id(),
            email=address,
            name=shown,
            role=role,  # one of ROLES, checked above
            teams=_teams(teams),
            capacity=capacity,
            created_at=self._clock(),
        )
        if await self._users.find_one({"email": address}, projection={"_id": 1}) is not None:
            raise DuplicateEmail(f"a user with the email {address} already exists")
        doc = user.model_dump(mode="python")
        doc["_id"] = doc.pop("id")
        doc["password_hash"] = await self.passwords.hash(password)
        try:
            await self._users.insert_one(doc)
        except DuplicateKeyError:  # added by someone else between our check and our write
            raise DuplicateEmail(f"a user with the email {address} already exists") from None
        return user

    async def get(self, user_id: str) -> User | None:
        doc = await self._users.find_one({"_id": user_id})
        return None if doc is None else _user(doc)

    async def by_email(self, email: str) -> User | None:
        try:
            address = normalize_email(email)
        except InvalidEmail:
            return None
        doc = await self._users.find_one({"email": address})
        return None if doc is None else _user(doc)

    async def list(self) -> builtins.list[User]:
        return [_user(doc) async for doc in self._users.find({}).sort("email", ASCENDING)]

    async def disable(self, email: str) -> User:
        """Sign-in, sessions and API token stop working at once (each request checks)."""
        address = normalize_email(email)
        doc = await self._users.find_one_and_update(
            {"email": address}, {"$set": {"disabled": True}}, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            raise UnknownUser(f"no user with the email {address}")
        return _user(doc)

    async def verify_password(self, email: str, password: str) -> User | None:
        """The user, when the password is theirs and they are not disabled; else None.

        An unknown email costs the same hashing work as a wrong password.
        """
        try:
            doc = await self._users.find_one({"email": normalize_email(email)})
        except InvalidEmail:
            doc = None
        if doc is None:
            await self.passwords.verify_nothing(password)
            return None
        stored = str(doc["password_hash"])
        if not await self.passwords.verify(stored, password) or doc.get("disabled"):
            return None
        if self.passwords.needs_rehash(stored):
            # Defaults got stronger since this hash was made; the password is at hand only now.
            await self._users.update_one(
                {"_id": doc["_id"]}, {"$set": {"password_hash": await self.passwords.hash(password)}}
            )
        return _user(doc)

    async def issue_api_token(self, email: str) -> str:
        """A new per-user API token; the previous one stops working."""
        address = normalize_email(email)
        doc = await self._users.find_one({"email": address}, projection={"disabled": 1})
        if doc is None:
            raise UnknownUser(f"no user with the email {address}")
        if doc.get("disabled"):
            raise UserError(f"{address} is disabled; a token would not work")
        token = secrets.token_urlsafe(32)
        await self._users.update_one({"_id": doc["_id"]}, {"$set": {"api_token_hash": token_hash(token)}})
        return token

    async def by_api_token(self, token: str) -> User | None:
        if not token or len(token) > MAX_TOKEN:
            return None
        doc = await self._users.find_one({"api_token_hash": token_hash(token)})
        if doc is None or doc.get("disabled"):
            return None
        return _user(doc)
