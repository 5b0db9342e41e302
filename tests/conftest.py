"""Shared fixtures: where the contracts live, and how to require a real component."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, running_postgres, server_bindir

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT.parent / "shared" / "contracts"


def require(condition: bool, reason: str) -> None:
    """Skip when a real component is missing, except in CI, where that is a failure."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required for this test and missing in CI: {reason}")
    pytest.skip(reason)


def require_root() -> None:
    require(os.geteuid() == 0, "needs root")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"needs {name} (scripts/setup installs it)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (Debian's ``postgresql`` package)."""
    bindir = server_bindir()
    if bindir is None:
        require_binary("initdb")  # skips, or fails in CI
        raise AssertionError("unreachable")
    with running_postgres(bindir) as server:
        yield server
