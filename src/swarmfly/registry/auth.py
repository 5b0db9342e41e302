"""The registry auth dance, as ``docker pull`` does it: try, read the challenge, answer it.

The first request carries the caller's ``Authorization`` if there is one (a token it already
holds), otherwise a token this client holds for the repository, otherwise nothing. A 401
carries ``WWW-Authenticate``:

- ``Basic realm=…``: send ``username``/``password`` as Basic (none given: :class:`Unauthorized`);
- ``Bearer realm=…,service=…``: get a token for ``repository:<repo>:pull`` from the realm (see
  :mod:`swarmfly.registry.tokens`) and send it as ``Bearer``.

Each request is answered once: a second 401 raises :class:`Unauthorized` with the registry's
reason, or :class:`Denied` when the registry says ``error="insufficient_scope"`` (the
credentials are known but may not pull). A token that was cached and then refused (revoked,
signed with a rotated key, expired early) is dropped and fetched again.
"""

from __future__ import annotations

from swarmfly.registry.challenges import Challenge
from swarmfly.registry.credentials import Credentials
from swarmfly.registry.errors import Denied, RegistryError, Unauthorized
from swarmfly.registry.responses import ErrorReport
from swarmfly.registry.tokens import TokenIssuer


class Authorizer:
    """What to send as ``Authorization`` to one repository, and how to answer its challenges.

    One per image resolve. The tokens it uses live in the client's :class:`TokenIssuer`, so
    the next resolve (or a seed peer's headers, later) reuses them until they expire.
    """

    def __init__(
        self,
        tokens: TokenIssuer,
        registry: str,
        repository: str,
        *,
        credentials: Credentials | None = None,
        caller_authorization: str | None = None,
    ) -> None:
        self._tokens = tokens
        self._registry = registry
        self._repository = repository
        self._credentials = credentials
        self._header = caller_authorization
        self._bearer: Challenge | None = None
        self._sent_token = False
        if caller_authorization is None:
            self._answer_known(tokens.known_challenge(registry))

    def _answer_known(self, challenge: Challenge | None) -> None:
        """Without a header from the caller, answer the registry's last challenge up front."""
        if challenge is not None and challenge.scheme == "bearer":
            self._bearer = challenge
        elif challenge is not None and challenge.scheme == "basic" and self._credentials:
            self._header = self._credentials.basic

    @property
    def settled(self) -> bool:
        """Whether we know what to send without asking the registry (a token or a header)."""
        return self._bearer is not None or self._header is not None

    def forget_token(self) -> None:
        """Drop the cached token, so the next request fetches a new one."""
        self._tokens.forget(self._registry, self._repository, self._credentials)

    def token_expires_in(self) -> float | None:
        """Seconds left on the token we send, or None when we send no token of our own."""
        if self._bearer is None:
            return None
        return self._tokens.expires_in(self._registry, self._repository, self._credentials)

    async def authorization(self) -> str | None:
        """The header for the next request: a current token (renewed if it expired), or the
        Basic credentials or caller's header the last challenge settled on."""
        if self._bearer is None:
            self._sent_token = False
            return self._header
        token = await self._tokens.token(
            self._bearer, self._registry, self._repository, self._credentials
        )
        self._sent_token = True
        return f"Bearer {token}"

    def challenged(self, challenges: list[Challenge], report: ErrorReport) -> None:
        """Settle how to answer a 401; a token we sent and the registry refused is dropped."""
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        if bearer is not None:
            if self._sent_token:
                self.forget_token()
            self._bearer = bearer
            self._tokens.remember_challenge(self._registry, bearer)
            return
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if basic is not None:
            if self._credentials is None:
                raise self._unauthorized(report, "needs credentials (none given)")
            self._bearer = None
            self._header = self._credentials.basic
            self._tokens.remember_challenge(self._registry, basic)
            return
        schemes = ", ".join(sorted({c.scheme for c in challenges})) or "none"
        raise self._unauthorized(report, f"asks for an auth scheme we do not speak ({schemes})")

    def refused(self, challenges: list[Challenge], report: ErrorReport) -> RegistryError:
        """The error for a 401 that survived an answered challenge."""
        if any(c.params.get("error") == "insufficient_scope" for c in challenges):
            return Denied(
                f"{self._where} may not be pulled with these credentials", reason=report.message
            )
        if self._credentials is None and self._header is None:
            return self._unauthorized(report, "needs credentials (none given)")
        return self._unauthorized(report, "refused the credentials")

    def _unauthorized(self, report: ErrorReport, what: str) -> Unauthorized:
        return Unauthorized(f"{self._where} {what}", reason=report.message)

    @property
    def _where(self) -> str:
        host = self._registry.split("://", 1)[-1]
        return f"registry {host} (repository {self._repository})"
