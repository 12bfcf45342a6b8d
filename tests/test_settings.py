"""Settings as an operator writes them: environment variables, durations in seconds."""

from datetime import timedelta

import pytest

from app.settings import Settings


def test_durations_are_read_as_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_LEASE_SECONDS", "2")
    monkeypatch.setenv("HOOKLINE_HEARTBEAT_SECONDS", "0.5")
    monkeypatch.setenv("HOOKLINE_RETRY_SCHEDULE", "500ms, 5s,2h")
    monkeypatch.setenv("HOOKLINE_ALLOWED_TARGET_NETWORKS", "127.0.0.0/8,::1/128")

    settings = Settings()

    assert settings.lease == timedelta(seconds=2)
    assert settings.heartbeat_interval == timedelta(milliseconds=500)
    assert settings.retry_schedule == [
        timedelta(milliseconds=500),
        timedelta(seconds=5),
        timedelta(hours=2),
    ]
    assert [str(n) for n in settings.allowed_target_networks] == ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOOKLINE_LEASE_SECONDS", "-1"),
        ("HOOKLINE_LEASE_SECONDS", "soon"),
        ("HOOKLINE_RETRY_SCHEDULE", "5s,5 fortnights"),
        ("HOOKLINE_PORT", "http"),
        ("HOOKLINE_DATABASE_URL", "mysql://x"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match="(?i)" + name.removeprefix("HOOKLINE_").split("_")[0]):
        Settings()
