"""The console's signing key: 32 random bytes in ``<dataDir>/console-secret`` (mode 0600),
made on the first start and read on every later one, so sessions survive a restart.

Several managers behind one address need the same file (or sticky sessions): a cookie signed
by one is refused by another with a different key.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from swarmfly.errors import InvalidInput

logger = logging.getLogger(__name__)

SECRET_FILE = "console-secret"
SECRET_BYTES = 32


class BadSecretFile(InvalidInput):
    """The key file exists but does not hold a usable key."""


def load_or_create_secret(data_dir: Path) -> bytes:
    """The key in ``data_dir``, made first if there is none (blocking: run it in a thread)."""
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    key = secrets.token_bytes(SECRET_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(key.hex() + "\n")
    logger.info("console secret created", extra={"path": str(path)})
    return key


def _read(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
        logger.warning("console secret was readable by others: now 0600", extra={"path": str(path)})
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise BadSecretFile(f"{path}: not a hex key (delete it to make a new one)") from exc
    if len(key) < SECRET_BYTES:
        raise BadSecretFile(f"{path}: the key is shorter than {SECRET_BYTES} bytes")
    return key
