"""Secrets a single-machine install generates for itself: the admin token and the key that
encrypts endpoint secrets. They are written once into DATA_DIR (mode 0600) and reused; the admin
token is printed the one time it is created. With an external database the encryption key must
be configured, since every machine must share it.
"""

import os
import secrets
import sys
from pathlib import Path

from pydantic import SecretStr

from app.settings import Settings


class MissingSecret(RuntimeError):
    """A secret that cannot be generated here was not configured."""


def _read_or_create(path: Path) -> tuple[str, bool]:
    """The secret stored at ``path``; created (and True) if there was none."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value + "\n")
    return value, True


def with_local_secrets(settings: Settings) -> Settings:
    """``settings`` with the admin token and secret key filled in where this install may."""
    updates: dict[str, SecretStr] = {}
    if settings.embedded and settings.admin_token is None:
        token, created = _read_or_create(settings.data_dir / "admin_token")
        if created:
            sys.stderr.write(
                f"hookline: admin token (shown once; kept in {settings.data_dir}/admin_token): "
                f"{token}\n"
            )
        updates["admin_token"] = SecretStr(token)
    if settings.secret_key is None:
        if not settings.embedded:
            raise MissingSecret(
                "HOOKLINE_SECRET_KEY must be set with an external database "
                "(every API and worker process must share it)"
            )
        key, _ = _read_or_create(settings.data_dir / "secret_key")
        updates["secret_key"] = SecretStr(key)
    return settings.model_copy(update=updates)


def existing_secret_key(settings: Settings) -> str | None:
    """The secret key this install already has, without creating one: the configured key, or
    the one an embedded install generated earlier. Migrations that re-encrypt data use it."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    stored = settings.data_dir / "secret_key"
    if settings.embedded and stored.exists():
        return stored.read_text().strip()
    return None
