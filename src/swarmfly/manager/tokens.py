"""Personal access tokens: made random and long, stored as a sha256 hash, shown once.

The Open API checks a token in this order: unknown → 401; inactive, expired, or without the
scope the route needs → 403 (``check_token``, a plain function). ``last_used_at`` is written at
most once a minute per token, and a failure to write it never fails the request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update

from swarmfly.errors import Conflict, InvalidInput, SwarmflyError
from swarmfly.manager.clock import Clock, system_clock, utc_now
from swarmfly.manager.database import Database
from swarmfly.manager.errors import (
    ScopeMissing,
    TokenExpired,
    TokenInactive,
    TokenNotFound,
    Unauthorized,
)
from swarmfly.manager.models import PersonalAccessToken, User

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "sfpat_"
#: Seconds between two writes of a token's ``last_used_at``.
LAST_USED_RESOLUTION = 60.0


class Scope(StrEnum):
    JOB = "job"
    CLUSTER = "cluster"


class TokenState(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    scopes: tuple[str, ...]
    state: str
    expires_at: datetime
    last_used_at: datetime | None
    created_at: datetime
    user_id: int | None


@dataclass(frozen=True)
class NewToken:
    info: TokenInfo
    value: str  # shown once; only its hash is stored


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def parse_scopes(text: str | Iterable[str]) -> tuple[str, ...]:
    """``job,cluster`` (or a list) as known scopes, without repeats; unknown ones are refused."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    scopes: list[str] = []
    for part in (p.strip() for p in parts):
        if part not in {scope.value for scope in Scope}:
            raise InvalidInput(f"scopes: unknown scope {part!r} (job, cluster)")
        if part not in scopes:
            scopes.append(part)
    if not scopes:
        raise InvalidInput("scopes: at least one of job, cluster")
    return tuple(scopes)


def check_token(info: TokenInfo, scope: Scope, now: datetime) -> None:
    """Raise the 403 that a known token deserves, if any."""
    if info.state != TokenState.ACTIVE:
        raise TokenInactive()
    if now >= info.expires_at:
        raise TokenExpired()
    if scope.value not in info.scopes:
        raise ScopeMissing(scope.value)


def _info(row: PersonalAccessToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        scopes=tuple(str(scope) for scope in row.scopes),
        state=row.state,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        created_at=row.created_at,
        user_id=row.user_id,
    )


class TokenStore:
    """The tokens table: issue, list, revoke, and authenticate a request's token."""

    def __init__(self, database: Database, *, clock: Clock = system_clock) -> None:
        self._db = database
        self._clock = clock
        self._last_used_written: dict[int, float] = {}

    async def create(
        self, name: str, scopes: Sequence[str], expires_in: timedelta, bio: str = ""
    ) -> NewToken:
        if not name.strip():
            raise InvalidInput("name: a token needs a name")
        if expires_in <= timedelta(0):
            raise InvalidInput("expires_in: must be positive")
        value = new_token_value()
        now = utc_now(self._clock)
        try:
            info = await self._insert(
                name.strip(), parse_scopes(scopes), value, now, expires_in, bio
            )
        except Conflict as exc:
            raise Conflict(f"a token named {name.strip()!r} exists already") from exc
        logger.info("token created", extra={"token_id": info.id, "token_name": info.name})
        return NewToken(info, value)

    async def _insert(
        self,
        name: str,
        scopes: Sequence[str],
        value: str,
        now: datetime,
        expires_in: timedelta,
        bio: str,
    ) -> TokenInfo:
        async with self._db.write() as session:
            root = await session.scalar(select(User.id).where(User.role == "root").limit(1))
            row = PersonalAccessToken(
                name=name,
                bio=bio,
                token_hash=token_hash(value),
                scopes=list(scopes),
                state=TokenState.ACTIVE.value,
                expires_at=now + expires_in,
                last_used_at=None,
                user_id=root,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            return _info(row)

    async def tokens(self) -> list[TokenInfo]:
        async with self._db.read() as session:
            rows = await session.scalars(
                select(PersonalAccessToken).order_by(PersonalAccessToken.id)
            )
            return [_info(row) for row in rows]

    async def revoke(self, name_or_id: str) -> TokenInfo:
        """Make a token inactive (by name, or by ID when no token has that name)."""
        async with self._db.write() as session:
            row = await session.scalar(
                select(PersonalAccessToken).where(PersonalAccessToken.name == name_or_id)
            )
            if row is None and name_or_id.isdigit():
                row = await session.get(PersonalAccessToken, int(name_or_id))
            if row is None:
                raise TokenNotFound(name_or_id)
            row.state = TokenState.INACTIVE.value
            row.updated_at = utc_now(self._clock)
            info = _info(row)
        logger.info("token revoked", extra={"token_id": info.id, "token_name": info.name})
        return info

    async def authenticate(self, value: str, scope: Scope) -> TokenInfo:
        """The token's info when it may use ``scope``; else ``Unauthorized`` or a 403."""
        async with self._db.read(one_statement=True) as session:
            row = await session.scalar(
                select(PersonalAccessToken).where(
                    PersonalAccessToken.token_hash == token_hash(value)
                )
            )
            if row is None:
                raise Unauthorized()
            info = _info(row)
        check_token(info, scope, utc_now(self._clock))
        await self._touch(info.id)
        return info

    async def _touch(self, token_id: int) -> None:
        now = self._clock()
        if now - self._last_used_written.get(token_id, float("-inf")) < LAST_USED_RESOLUTION:
            return
        self._last_used_written[token_id] = now
        moment = utc_now(self._clock)
        stale = moment - timedelta(seconds=LAST_USED_RESOLUTION)
        try:
            async with self._db.write() as session:
                await session.execute(
                    update(PersonalAccessToken)
                    .where(PersonalAccessToken.id == token_id)
                    .where(
                        or_(
                            PersonalAccessToken.last_used_at.is_(None),
                            PersonalAccessToken.last_used_at < stale,
                        )
                    )
                    .values(last_used_at=moment)
                )
        except SwarmflyError as exc:  # bookkeeping only: the request goes on
            logger.warning(
                "token use not recorded", extra={"token_id": token_id, "error": str(exc)}
            )
