"""The validator cache's rules, on a clock the test moves: when it reads the change counter,
and which loads it keeps."""

import uuid
from datetime import timedelta
from typing import Any

from app.event_types.cache import ValidatorCache

TENANT = uuid.uuid4()
SCHEMA = {"type": "object", "required": ["a"]}


class World:
    """The database as the cache sees it: a counter and a catalogue, with reads counted."""

    def __init__(self) -> None:
        self.now = 0.0
        self.generation = 0
        self.schemas: dict[str, dict[str, Any]] = {}
        self.reads = 0

    async def read_generation(self) -> int:
        self.reads += 1
        return self.generation

    async def load(self) -> dict[str, dict[str, Any]]:
        return dict(self.schemas)


async def _errors(cache: ValidatorCache, world: World) -> int:
    catalogue = await cache.catalogue(
        TENANT, read_generation=world.read_generation, load=world.load
    )
    return len(catalogue.errors("t", {}))


async def test_the_counter_is_read_once_a_second_and_an_expected_change_at_once() -> None:
    world = World()
    cache = ValidatorCache(expect_for=timedelta(seconds=10), clock=lambda: world.now)
    assert await _errors(cache, world) == 0
    assert await _errors(cache, world) == 0
    assert world.reads == 1

    world.schemas, world.generation = {"t": SCHEMA}, 1  # another process's change
    world.now = 0.5
    assert await _errors(cache, world) == 0  # within the bound: the old catalogue
    world.now = 1.0
    assert await _errors(cache, world) == 1
    assert world.reads == 2

    cache.expect(2)  # this process's change, not yet committed
    world.now = 1.1
    assert await _errors(cache, world) == 1
    world.schemas, world.generation = {}, 2  # committed
    assert await _errors(cache, world) == 0
    reads = world.reads
    assert await _errors(cache, world) == 0
    assert world.reads == reads  # seen: back to once a second

    cache.expect(3)  # a change that rolled back: the expectation lapses
    world.now = 11.2
    await _errors(cache, world)
    reads = world.reads
    await _errors(cache, world)
    assert world.reads == reads


async def test_a_catalogue_loaded_across_a_change_is_not_kept() -> None:
    world = World()
    cache = ValidatorCache(clock=lambda: world.now)

    async def load_then_change() -> dict[str, dict[str, Any]]:
        loaded = await world.load()
        world.generation += 1  # a change commits, and another request sees it, mid-load
        world.now += 2
        await cache.catalogue(uuid.uuid4(), read_generation=world.read_generation, load=world.load)
        return loaded

    await cache.catalogue(TENANT, read_generation=world.read_generation, load=load_then_change)
    world.schemas = {"t": SCHEMA}
    assert await _errors(cache, world) == 1
