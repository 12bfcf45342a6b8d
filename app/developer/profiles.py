"""Which Hookline the developer commands talk to, and with which key: a flag, else the
environment (``HOOKLINE_URL``, ``HOOKLINE_API_KEY``), else a profile of the config file, as the
Stripe and GitHub CLIs do.

The file is TOML, ``$HOOKLINE_CONFIG`` or ``~/.config/hookline/config.toml`` (``$XDG_CONFIG_HOME``
honoured), one table per profile; ``--profile`` or ``HOOKLINE_PROFILE`` picks one, else
``default``::

    [default]
    url = "http://127.0.0.1:8000"
    api_key = "hlk_..."
"""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hookline.client.clients import DEFAULT_URL

DEFAULT_PROFILE = "default"


class ProfileError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("HOOKLINE_CONFIG"):
        return Path(env["HOOKLINE_CONFIG"])
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "hookline" / "config.toml"


def _profile(env: Mapping[str, str], name: str | None) -> dict[str, object]:
    path = config_path(env)
    chosen = name or env.get("HOOKLINE_PROFILE")
    if not path.exists():
        if chosen:
            raise ProfileError(f"profile {chosen!r} asked for, but {path} does not exist")
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from exc
    profile = document.get(chosen or DEFAULT_PROFILE)
    if profile is None:
        if chosen:
            known = ", ".join(sorted(document)) or "none"
            raise ProfileError(f"{path} has no profile {chosen!r} (it has: {known})")
        return {}
    if not isinstance(profile, dict):
        raise ProfileError(f"{path}: [{chosen or DEFAULT_PROFILE}] must be a table")
    return profile


def resolve(
    url: str | None,
    api_key: str | None,
    profile: str | None,
    env: Mapping[str, str] | None = None,
) -> Connection:
    """The connection: each value from the first of flag, environment, profile that has it."""
    env = os.environ if env is None else env
    stored = _profile(env, profile)
    chosen_url = url or env.get("HOOKLINE_URL") or stored.get("url") or DEFAULT_URL
    chosen_key = api_key or env.get("HOOKLINE_API_KEY") or stored.get("api_key")
    if not chosen_key:
        raise ProfileError(
            "no API key: pass --api-key, set HOOKLINE_API_KEY, or put api_key in a profile of "
            f"{config_path(env)}"
        )
    if not isinstance(chosen_url, str) or not isinstance(chosen_key, str):
        raise ProfileError(f"{config_path(env)}: url and api_key must be strings")
    return Connection(url=chosen_url, api_key=chosen_key)
