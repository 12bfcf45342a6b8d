"""An attempt PostgreSQL refused is stored again without what the receiver sent."""

from datetime import UTC, datetime, timedelta

from app.delivery.sender import SendResult
from app.delivery.worker import AttemptRecord, without_response
from app.queue.jobs import Done, Release, Retry


def _record(**fields: object) -> AttemptRecord:
    result = SendResult(started_at=datetime.now(UTC), duration_ms=3, **fields)  # type: ignore[arg-type]
    return AttemptRecord(result=result, trigger="scheduled")


def test_a_success_keeps_its_verdict_and_says_why_the_excerpt_is_missing() -> None:
    outcome = Done(detail=_record(status_code=200, body="ok"))

    salvaged = without_response(outcome, ValueError("refused"))

    assert isinstance(salvaged, Done)
    assert salvaged.detail.result.status_code == 200
    assert salvaged.detail.result.body is None
    assert salvaged.detail.result.error == "the response could not be stored: ValueError: refused"
    assert salvaged.detail.result.succeeded


def test_a_failure_keeps_its_retry_and_its_own_error_first() -> None:
    record = _record(status_code=500, body="no", error_class="http_status", error="HTTP 500")
    outcome = Retry(error="http_status: HTTP 500", delay=timedelta(seconds=5), detail=record)

    salvaged = without_response(outcome, ValueError("refused"))

    assert isinstance(salvaged, Retry)
    assert salvaged.delay == timedelta(seconds=5)
    assert salvaged.detail.result.error == (
        "HTTP 500; the response could not be stored: ValueError: refused"
    )


def test_an_outcome_without_an_attempt_is_not_for_this_salvage() -> None:
    assert without_response(Release(), ValueError("x")) is None
    assert without_response(Done(), ValueError("x")) is None
