"""The console's signing key: made once with mode 0600, then read back on every start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from swarmfly.manager.console.secret import (
    SECRET_BYTES,
    SECRET_FILE,
    BadSecretFile,
    load_or_create_secret,
)


def test_made_once_private_then_reused(tmp_path: Path) -> None:
    key = load_or_create_secret(tmp_path / "data")
    path = tmp_path / "data" / SECRET_FILE
    assert len(key) == SECRET_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path / "data") == key


def test_a_readable_key_is_made_private(tmp_path: Path) -> None:
    key = load_or_create_secret(tmp_path)
    os.chmod(tmp_path / SECRET_FILE, 0o644)
    assert load_or_create_secret(tmp_path) == key
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize("text", ["not hex", "abcd"])
def test_a_broken_key_file_stops_the_start(tmp_path: Path, text: str) -> None:
    (tmp_path / SECRET_FILE).write_text(text)
    with pytest.raises(BadSecretFile):
        load_or_create_secret(tmp_path)
