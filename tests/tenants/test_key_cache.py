"""The key cache's rules, on a clock the test moves: how long an entry is trusted unchecked."""

import uuid
from datetime import timedelta

from app.tenants.key_cache import KeyCache, VerifiedKey

KEY = VerifiedKey(id=uuid.uuid4(), tenant_id=uuid.uuid4())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """The revocation counter, and how often it was read."""

    def __init__(self) -> None:
        self.generation = 0
        self.reads = 0

    async def read(self) -> int:
        self.reads += 1
        return self.generation


async def test_the_counter_is_read_at_most_once_a_second() -> None:
    clock, counter = Clock(), Counter()
    cache = KeyCache(clock=clock)

    for _ in range(100):
        await cache.revalidate(counter.read)
    clock.now += 0.999
    await cache.revalidate(counter.read)
    clock.now += 0.002
    await cache.revalidate(counter.read)

    assert counter.reads == 2


async def test_a_revocation_drops_every_entry_at_the_next_check() -> None:
    clock, counter = Clock(), Counter()
    cache = KeyCache(clock=clock)
    await cache.revalidate(counter.read)
    cache.put("digest", KEY, epoch=cache.epoch)

    counter.generation += 1
    clock.now += 0.5
    await cache.revalidate(counter.read)
    still_trusted = cache.get("digest")
    clock.now += 0.6
    await cache.revalidate(counter.read)

    assert still_trusted == KEY
    assert cache.get("digest") is None


async def test_an_entry_is_not_trusted_when_the_counter_was_not_read_lately() -> None:
    clock, counter = Clock(), Counter()
    cache = KeyCache(clock=clock)
    await cache.revalidate(counter.read)
    cache.put("digest", KEY, epoch=cache.epoch)

    clock.now += 1.0

    assert cache.get("digest") is None


async def test_a_lookup_that_raced_a_revocation_is_not_stored() -> None:
    clock, counter = Clock(), Counter()
    cache = KeyCache(clock=clock)
    await cache.revalidate(counter.read)
    epoch = cache.epoch  # a lookup begins ...
    counter.generation += 1  # ... a revocation commits, another request sees it ...
    clock.now += 1
    await cache.revalidate(counter.read)

    cache.put("digest", KEY, epoch=epoch)  # ... and the lookup's answer arrives

    assert cache.get("digest") is None


def test_use_is_due_once_a_minute_per_key() -> None:
    clock = Clock()
    cache = KeyCache(clock=clock, record_use_every=timedelta(minutes=1))
    other = uuid.uuid4()

    first = [cache.use_is_due(KEY.id), cache.use_is_due(KEY.id), cache.use_is_due(other)]
    clock.now += 59
    within = cache.use_is_due(KEY.id)
    clock.now += 1
    after = cache.use_is_due(KEY.id)

    assert first == [True, False, True]
    assert within is False
    assert after is True
