"""Registry credentials: a username and a password that never reach a log or a cache key."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    """A username and password for a registry or its token server; the password never prints."""

    username: str
    password: str = field(repr=False)

    @property
    def basic(self) -> str:
        """The value of a Basic ``Authorization`` header."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    @property
    def fingerprint(self) -> str:
        """A key that tells credentials apart without keeping the password in a cache key."""
        return hashlib.sha256(f"{self.username}\0{self.password}".encode()).hexdigest()


def credentials_of(username: str | None, password: str | None) -> Credentials | None:
    """Credentials when a username is given (an empty password is a password); else None."""
    return Credentials(username, password or "") if username else None
