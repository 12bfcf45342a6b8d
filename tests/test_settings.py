"""Settings as an operator writes them: environment variables, durations in seconds."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOOKLINE_METRICS_SAMPLE_SECONDS", "0"),
        ("HOOKLINE_DRAIN_TIMEOUT_SECONDS", "-5"),
        ("HOOKLINE_RETRY_MIN_AFTER_OVERLOAD_SECONDS", "0"),
        ("HOOKLINE_CONNECT_TIMEOUT_SECONDS", "-1"),
        ("HOOKLINE_LEASE_SECONDS", "nan"),
        ("HOOKLINE_MAX_EVENT_BYTES", "0"),
        ("HOOKLINE_RESPONSE_BODY_BYTES", "0"),
        ("HOOKLINE_MAX_INBOUND_BYTES", "-1"),
        ("HOOKLINE_WORKER_CONCURRENCY", "0"),
    ],
)
def test_non_positive_durations_and_sizes_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError) as refused:
        Settings()

    assert _problem_names(refused.value) == [name]


@pytest.mark.parametrize(
    "name", ["HOOKLINE_ATTEMPT_RETENTION_SECONDS", "HOOKLINE_EVENT_RETENTION_SECONDS"]
)
@pytest.mark.parametrize("value", ["0", "60", "3599"])
def test_retention_keeps_at_least_an_hour(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match="at least 3600 seconds") as refused:
        Settings()

    assert _problem_names(refused.value) == [name]


def test_an_hour_of_retention_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_ATTEMPT_RETENTION_SECONDS", "3600")

    assert Settings().attempt_retention == timedelta(hours=1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "at least one delay"),
        (" , ", "at least one delay"),
        ("5s,,5m", "'' is not a duration"),
        ("5s,0s,5m", "'0s' must be longer than zero"),
        ("5s,0ms", "'0ms' must be longer than zero"),
        ("-5s", "'-5s' is not a duration"),
    ],
)
def test_the_retry_schedule_needs_positive_delays(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("HOOKLINE_RETRY_SCHEDULE", value)

    with pytest.raises(ValidationError, match=message):
        Settings()


def test_a_schedule_given_in_code_is_checked_too() -> None:
    with pytest.raises(ValidationError, match="longer than zero"):
        Settings(retry_schedule=[timedelta(seconds=5), timedelta(0)])


def _problem_names(error: ValidationError) -> list[str]:
    """The variables a validation error names, as the CLI prints them."""
    names = []
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"]).upper()
        names.append(name if name.startswith("HOOKLINE_") else f"HOOKLINE_{name}")
    return names
