"""Users of the console, and the ``root`` user made on the first start.

Passwords are hashed with argon2 (the console signs in with them). Root's generated password
is written once to ``<dataDir>/root-password`` (mode 0600) and only that path is logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from swarmfly.errors import Conflict
from swarmfly.manager.clock import Clock, system_clock, utc_now
from swarmfly.manager.database import Database
from swarmfly.manager.models import User

logger = logging.getLogger(__name__)

ROOT_NAME = "root"
ROOT_PASSWORD_FILE = "root-password"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _no_user_hash() -> str:
    """Checked against when the user does not exist: an unknown name costs as long as a known."""
    return _hasher.hash(secrets.token_urlsafe(18))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (no such user) takes as long and is False."""
    if password_hash is None:
        _check(_no_user_hash(), password)
        return False
    return _check(password_hash, password)


def _check(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _write_secret_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text + "\n")


class UserStore:
    def __init__(self, database: Database, *, clock: Clock = system_clock) -> None:
        self._db = database
        self._clock = clock

    async def ensure_root(self, data_dir: Path) -> Path | None:
        """Create ``root`` if no root user exists; returns where its password was written."""
        async with self._db.read() as session:
            if await session.scalar(select(User.id).where(User.role == "root").limit(1)):
                return None
        password = secrets.token_urlsafe(18)
        path = data_dir / ROOT_PASSWORD_FILE
        password_hash = await asyncio.to_thread(hash_password, password)
        await asyncio.to_thread(_write_secret_file, path, password)
        now = utc_now(self._clock)
        try:
            async with self._db.write() as session:
                session.add(
                    User(
                        name=ROOT_NAME,
                        password_hash=password_hash,
                        role="root",
                        created_at=now,
                        updated_at=now,
                    )
                )
        except Conflict:  # another manager on the same database made it first
            return None
        logger.warning("root password written to %s", path, extra={"path": str(path)})
        return path

    async def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is theirs (for the console's sign-in)."""
        async with self._db.read() as session:
            user = await session.scalar(select(User).where(User.name == name))
        password_hash = None if user is None else user.password_hash
        ok = await asyncio.to_thread(verify_password, password_hash, password)
        if user is None or user.state != "enable":
            return None
        return user if ok else None

    async def get(self, user_id: int) -> User | None:
        """The user, while it exists and is enabled (a console session checks it each time)."""
        async with self._db.read() as session:
            user = await session.get(User, user_id)
        return user if user is not None and user.state == "enable" else None
