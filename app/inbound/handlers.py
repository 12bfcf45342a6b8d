"""Inbound handlers: the built-in ``republish``, and Python callables the operator registers.

Sources refer to handlers by name only; a name resolves to code only if the operator registered
it (``HOOKLINE_INBOUND_HANDLERS`` or the ``hookline.inbound_handlers`` entry point), so a tenant
can never make Hookline import arbitrary modules. A handler receives an :class:`InboundMessage`
whose ``id`` is stable across retries: use it as the idempotency key of its side effects.
"""

import importlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

REPUBLISH = "republish"
ENTRY_POINT_GROUP = "hookline.inbound_handlers"


@dataclass(frozen=True)
class InboundMessage:
    #: The inbox row's id: the idempotency key for the handler's side effects.
    id: str
    source: str
    provider: str
    event_type: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


InboundHandler = Callable[[InboundMessage], Awaitable[None]]


class UnknownHandler(ValueError):
    pass


def _load(target: str) -> InboundHandler:
    module_name, _, attribute = target.partition(":")
    handler: InboundHandler = getattr(importlib.import_module(module_name), attribute)
    return handler


def registered(configured: Mapping[str, str]) -> dict[str, InboundHandler]:
    """Every handler a source may name, besides ``republish``."""
    handlers = {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}
    handlers.update({name: _load(target) for name, target in configured.items()})
    return handlers


def known_names(configured: Mapping[str, str]) -> set[str]:
    """Names sources may use, without importing anything."""
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return names | set(configured) | {REPUBLISH}
