"""What ``swarmfly token …`` does: open the manager's database directly (migrated to head, as
the manager would), act through the same stores, close it. The CLI is the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from swarmfly.config import ManagerServiceConfig
from swarmfly.manager.database import Database
from swarmfly.manager.tokens import NewToken, TokenInfo, TokenStore


async def create_token(
    config: ManagerServiceConfig,
    name: str,
    scopes: Sequence[str],
    expires_in: timedelta,
    bio: str = "",
) -> NewToken:
    async with Database.open(config) as database:
        return await TokenStore(database).create(name, scopes, expires_in, bio)


async def list_tokens(config: ManagerServiceConfig) -> list[TokenInfo]:
    async with Database.open(config) as database:
        return await TokenStore(database).tokens()


async def revoke_token(config: ManagerServiceConfig, name_or_id: str) -> TokenInfo:
    async with Database.open(config) as database:
        return await TokenStore(database).revoke(name_or_id)
