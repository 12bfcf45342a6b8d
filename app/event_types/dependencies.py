"""The process's validator cache, as a request dependency (routes that publish or edit)."""

from typing import Annotated

from fastapi import Depends, Request

from app.event_types.cache import ValidatorCache


async def _validator_cache(request: Request) -> ValidatorCache:
    cache: ValidatorCache = request.app.state.validator_cache
    return cache


Validators = Annotated[ValidatorCache, Depends(_validator_cache)]
