"""Bearer tokens from a registry's token server, cached until they expire.

A registry that answers ``WWW-Authenticate: Bearer realm=…,service=…`` wants a token from the
realm: ``GET <realm>?service=<service>&scope=repository:<repo>:pull`` (with Basic credentials
when we have them, anonymously otherwise) answers ``{"token": …}`` or ``{"access_token": …}``
and ``expires_in`` seconds (60 when absent, as the distribution spec says).

Tokens are cached per (registry, repository, credentials), the credentials by a fingerprint.
Time comes from the injected ``clock``; a token is renewed a little before it expires (see
:data:`RENEW_MARGIN`), so one handed to a seed peer has some life left. The cache belongs to a
:class:`~swarmfly.registry.client.RegistryClient`; there is none at module level.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError
from yarl import URL

from swarmfly.logs import redacted_url
from swarmfly.registry.challenges import Challenge
from swarmfly.registry.credentials import Credentials
from swarmfly.registry.errors import RegistryStatusError, Unauthorized
from swarmfly.registry.responses import (
    MAX_SMALL_BODY,
    parse_error,
    read_error,
    read_limited,
    translating_errors,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

#: The spec's lifetime for a token that does not say.
DEFAULT_EXPIRES_IN = 60.0
#: Renew this long before expiry (at most half the lifetime), so a token in use stays valid.
RENEW_MARGIN = 10.0

CacheKey = tuple[str, str, str]  # registry, repository, credentials fingerprint ("" anonymous)


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # on the issuer's clock
    renew_at: float


class TokenAnswer(BaseModel):
    """A token server's answer; Docker's servers say ``token``, OAuth2 ones ``access_token``."""

    model_config = ConfigDict(extra="ignore")

    token: str | None = None
    access_token: str | None = None
    expires_in: float | None = None


class TokenIssuer:
    """Gets tokens from token servers and keeps them, per repository and credentials."""

    def __init__(self, session: aiohttp.ClientSession, *, clock: Clock, timeout: float) -> None:
        self._session = session
        self._clock = clock
        self._timeout = timeout
        self._tokens: dict[CacheKey, Token] = {}
        self._challenges: dict[str, Challenge] = {}

    def known_challenge(self, registry: str) -> Challenge | None:
        """The challenge (Bearer or Basic) ``registry`` last answered with, if any."""
        return self._challenges.get(registry)

    def remember_challenge(self, registry: str, challenge: Challenge) -> None:
        """Keep how ``registry`` wants to be answered, so later requests skip the 401."""
        self._challenges[registry] = challenge

    def expires_in(
        self, registry: str, repository: str, credentials: Credentials | None
    ) -> float | None:
        """Seconds the cached token has left, or None without one."""
        token = self._tokens.get(_key(registry, repository, credentials))
        return None if token is None else max(0.0, token.expires_at - self._clock())

    def forget(self, registry: str, repository: str, credentials: Credentials | None) -> None:
        """Drop a token the registry refused, so the next request fetches a new one."""
        self._tokens.pop(_key(registry, repository, credentials), None)

    async def token(
        self,
        challenge: Challenge,
        registry: str,
        repository: str,
        credentials: Credentials | None,
    ) -> str:
        """A current token for pulling ``repository``: the cached one, or a fresh one."""
        key = _key(registry, repository, credentials)
        now = self._clock()
        cached = self._tokens.get(key)
        if cached is not None and now < cached.renew_at:
            return cached.value
        token = await self._fetch(challenge, repository, credentials)
        self._drop_expired(now)
        self._tokens[key] = token
        return token.value

    async def _fetch(
        self, challenge: Challenge, repository: str, credentials: Credentials | None
    ) -> Token:
        url = _token_url(challenge, repository, credentials)
        headers = {"Authorization": credentials.basic} if credentials is not None else {}
        with translating_errors(str(url)):
            async with self._session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=self._timeout)
            ) as response:
                if response.status in (401, 403):
                    report = await read_error(response)
                    who = "refused the credentials" if credentials else "wants credentials"
                    raise Unauthorized(
                        f"token server {redacted_url(challenge.realm)} {who}",
                        reason=report.message,
                    )
                body = await read_limited(response, MAX_SMALL_BODY)
                if response.status != 200:
                    raise _token_error(response, parse_error(body).message)
                answer = _parse_answer(response, body)
        value = answer.token or answer.access_token
        if not value:
            raise _token_error(response, "no token in the answer")
        lifetime = answer.expires_in if answer.expires_in and answer.expires_in > 0 else None
        lifetime = lifetime or DEFAULT_EXPIRES_IN
        now = self._clock()
        logger.debug(
            "registry token issued",
            extra={"repository": repository, "expires_in": lifetime, "anonymous": not credentials},
        )
        margin = min(RENEW_MARGIN, lifetime / 2)
        return Token(value, expires_at=now + lifetime, renew_at=now + lifetime - margin)

    def _drop_expired(self, now: float) -> None:
        """Keep the cache to tokens that can still be used; a long-lived client sees many."""
        for key in [k for k, token in self._tokens.items() if token.expires_at <= now]:
            del self._tokens[key]


def _key(registry: str, repository: str, credentials: Credentials | None) -> CacheKey:
    return (registry, repository, credentials.fingerprint if credentials else "")


def _token_url(challenge: Challenge, repository: str, credentials: Credentials | None) -> URL:
    url = URL(challenge.realm)
    if url.scheme not in ("http", "https") or not url.host:
        raise RegistryStatusError(
            f"registry names a token realm that is not an http(s) URL: {challenge.realm!r}",
            status=401,
        )
    query: dict[str, str] = {"scope": f"repository:{repository}:pull"}
    if challenge.params.get("service"):
        query["service"] = challenge.params["service"]
    if credentials is not None:
        query["account"] = credentials.username
    return url.update_query(query)


def _parse_answer(response: aiohttp.ClientResponse, body: bytes) -> TokenAnswer:
    try:
        return TokenAnswer.model_validate_json(body)
    except ValidationError as exc:
        raise _token_error(response, "the answer is not a token document") from exc


def _token_error(response: aiohttp.ClientResponse, reason: str) -> RegistryStatusError:
    where = redacted_url(str(response.url))
    return RegistryStatusError(
        f"token server {where} answered {response.status}: {reason}",
        status=response.status,
        headers=response.headers,
    )
