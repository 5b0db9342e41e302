"""Console sessions in a signed cookie; no table.

Every visitor has a session, signed in (``user_id`` set) or not: the sign-in form's CSRF token
is bound to a session too, and signing in replaces the session with a new one (new nonce), so
a session fixed before sign-in is worth nothing after. The cookie holds::

    base64url(JSON {"u": user id | null, "n": nonce, "i": issued, "e": expires}) "." base64url(mac)

with ``mac = HMAC-SHA256(key, payload)``. A session ends when it expires or signs out; signing
out remembers the nonce until the session would have expired, in this process only (another
manager sharing the key still accepts a copy of the cookie until then).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from swarmfly.manager.clock import Clock

COOKIE_NAME = "swarmfly_session"
COOKIE_PATH = "/"
SAME_SITE = "Lax"
#: Cookies longer than this are not ours (a browser sends at most ~4 KiB anyway).
_MAX_COOKIE = 1024


@dataclass(frozen=True)
class Session:
    user_id: int | None
    nonce: str
    issued_at: float
    expires_at: float

    @property
    def is_signed_in(self) -> bool:
        return self.user_id is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url, refusing any text but the one :func:`_b64` makes of the
    bytes: the last character has spare bits, and a cookie altered in them must not pass."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not the canonical encoding")
    return data


def _payload(session: Session) -> dict[str, Any]:
    return {
        "u": session.user_id,
        "n": session.nonce,
        "i": session.issued_at,
        "e": session.expires_at,
    }


def _session(payload: Any) -> Session | None:
    if not isinstance(payload, dict):
        return None
    user_id, nonce = payload.get("u"), payload.get("n")
    issued, expires = payload.get("i"), payload.get("e")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
        return None
    if not isinstance(nonce, str) or not all(isinstance(t, int | float) for t in (issued, expires)):
        return None
    assert isinstance(issued, int | float) and isinstance(expires, int | float)
    return Session(user_id, nonce, float(issued), float(expires))


class SessionCodec:
    """Makes, signs, reads and revokes sessions, and derives their CSRF tokens."""

    def __init__(self, key: bytes, *, ttl: timedelta, clock: Clock) -> None:
        self._key = key
        self._ttl = ttl.total_seconds()
        self._clock = clock
        self._revoked: dict[str, float] = {}  # nonce -> when the session would have expired

    @property
    def ttl_seconds(self) -> int:
        return int(self._ttl)

    def new(self, user_id: int | None) -> Session:
        now = self._clock()
        return Session(user_id, secrets.token_urlsafe(16), now, now + self._ttl)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def encode(self, session: Session) -> str:
        payload = json.dumps(_payload(session), separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, value: str | None) -> Session | None:
        """The session a cookie holds; None when it is missing, forged, expired or revoked."""
        if not value or len(value) > _MAX_COOKIE or value.count(".") != 1:
            return None
        payload_text, mac_text = value.split(".")
        try:
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            session = _session(json.loads(payload))
        except (ValueError, UnicodeDecodeError):
            return None
        if session is None or self._clock() >= session.expires_at:
            return None
        if session.nonce in self._revoked:
            return None
        return session

    def revoke(self, session: Session) -> None:
        """Sign-out: this session is refused from now on (until it would have expired)."""
        now = self._clock()
        self._revoked = {n: until for n, until in self._revoked.items() if until > now}
        self._revoked[session.nonce] = session.expires_at

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries (and no other session's form)."""
        return _b64(self._mac(b"csrf:" + session.nonce.encode()))

    def check_csrf(self, session: Session, token: str | None) -> bool:
        if not token:
            return False
        return hmac.compare_digest(token.encode(), self.csrf_token(session).encode())
