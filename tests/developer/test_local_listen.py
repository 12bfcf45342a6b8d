"""When endpoints may target loopback for ``hookline listen``: only on a developer's machine,
or when an operator of a loopback-bound server asks; never for a server others can reach."""

import pytest
from pydantic import ValidationError

from app.settings import Settings

DB = "postgresql://hookline@db.internal:5432/hookline"


@pytest.mark.parametrize(
    ("fields", "listens"),
    [
        ({}, True),  # embedded database, API on 127.0.0.1: a laptop
        ({"host": "localhost"}, True),
        ({"database_url": DB}, False),  # a real deployment
        ({"host": "0.0.0.0"}, False),  # reachable by others
        ({"public_url": "https://hooks.example.com"}, False),  # behind a proxy
        ({"local_listen": False}, False),
        ({"database_url": DB, "local_listen": True}, True),  # asked for, on loopback
    ],
)
def test_loopback_targets_are_allowed_only_on_a_laptop_or_when_asked(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, object], listens: bool
) -> None:
    for name in ("HOOKLINE_HOST", "HOOKLINE_DATABASE_URL", "HOOKLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOOKLINE_ALLOWED_TARGET_NETWORKS", "10.1.0.0/16")

    settings = Settings(**fields)  # type: ignore[arg-type]

    assert settings.listens_locally is listens
    loopback = ["127.0.0.0/8", "::1/128"] if listens else []
    assert [str(n) for n in settings.target_networks] == ["10.1.0.0/16", *loopback]


def test_local_listen_is_refused_on_a_server_others_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_HOST", "0.0.0.0")
    monkeypatch.setenv("HOOKLINE_LOCAL_LISTEN", "true")

    with pytest.raises(ValidationError, match="HOOKLINE_LOCAL_LISTEN needs the API bound to"):
        Settings()
