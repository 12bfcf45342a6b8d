"""The process's validator cache, as a request dependency (routes that publish or edit)."""

from typing import Annotated

from fastapi import Depends, Request

from app.event_types.cache import ValidatorCache


def validator_cache(request: Request) -> ValidatorCache:
    """The cache itself, for a route that reads it directly: a single publish saves the 11 µs
    of CPU that FastAPI spends resolving even a trivial dependency."""
    cache: ValidatorCache = request.app.state.validator_cache
    return cache


async def _validator_cache(request: Request) -> ValidatorCache:
    return validator_cache(request)


Validators = Annotated[ValidatorCache, Depends(_validator_cache)]
