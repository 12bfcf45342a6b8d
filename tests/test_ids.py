"""UUIDv7 ids: strictly increasing within a process, one by one or a batch at a time."""

import uuid
from datetime import UTC, datetime, timedelta

from app.ids import uuid7, uuid7_batch, uuid7_floor, uuid7_time


def _is_v7(value: uuid.UUID) -> bool:
    return value.version == 7 and value.variant == uuid.RFC_4122


def test_single_and_batched_ids_interleave_in_creation_order() -> None:
    ids = [uuid7(), *uuid7_batch(3), uuid7(), *uuid7_batch(1), uuid7()]

    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(_is_v7(value) for value in ids)


def test_a_batch_larger_than_the_counter_stays_increasing_by_borrowing_milliseconds() -> None:
    ids = uuid7_batch(10_000)  # the 12-bit counter holds 4,096 per millisecond
    after = uuid7()

    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert after > ids[-1]
    assert all(_is_v7(value) for value in ids)


def test_an_empty_batch_is_empty_and_leaves_the_order_alone() -> None:
    before = uuid7()

    assert uuid7_batch(0) == []
    assert uuid7() > before


def test_random_bits_differ_between_ids_of_one_batch() -> None:
    tails = {value.int & (2**62 - 1) for value in uuid7_batch(1_000)}

    assert len(tails) == 1_000


def test_an_id_tells_when_it_was_made_to_the_millisecond() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    made = uuid7()

    assert uuid7_floor(before) <= made
    assert before <= uuid7_time(made) <= datetime.now(UTC) + timedelta(seconds=1)
