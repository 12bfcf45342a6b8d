"""Which endpoints subscribe to an event type, without testing every endpoint of the tenant.

Per tenant, each pattern is filed where a lookup finds it directly: every pattern under its own
text (a pattern equal to the type matches, see :func:`app.endpoints.filters.matches`), a prefix
pattern (``order.*``) also under its prefix with the dot (``order.``), and ``*`` also in the
catch-all set. A lookup for ``order.line.added`` then reads the exact entry, the prefixes
``order.`` and ``order.line.`` (one per dot of the type), and the catch-alls unless the type is
reserved. The cost follows the type's length and the number of subscribers, not of endpoints.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable

from app.endpoints.filters import RESERVED_PREFIX

_Ids = set[uuid.UUID]


class _TenantSubscriptions:
    __slots__ = ("everything", "exact", "prefixes")

    def __init__(self) -> None:
        self.exact: defaultdict[str, _Ids] = defaultdict(set)
        self.prefixes: defaultdict[str, _Ids] = defaultdict(set)
        self.everything: _Ids = set()

    def __bool__(self) -> bool:
        return bool(self.exact)  # every pattern has an exact entry

    def _places(self, pattern: str) -> list[_Ids]:
        places = [self.exact[pattern]]
        if pattern == "*":
            places.append(self.everything)
        elif pattern.endswith(".*"):
            places.append(self.prefixes[pattern[:-1]])
        return places

    def add(self, endpoint_id: uuid.UUID, patterns: Iterable[str]) -> None:
        for pattern in patterns:
            for ids in self._places(pattern):
                ids.add(endpoint_id)

    def remove(self, endpoint_id: uuid.UUID, patterns: Iterable[str]) -> None:
        for pattern in patterns:
            for ids in self._places(pattern):
                ids.discard(endpoint_id)
            for table, key in ((self.exact, pattern), (self.prefixes, pattern[:-1])):
                if key in table and not table[key]:
                    del table[key]

    def match(self, event_type: str) -> _Ids:
        found: _Ids = set()
        if (ids := self.exact.get(event_type)) is not None:
            found |= ids
        if self.prefixes:
            dot = event_type.find(".")
            while dot != -1:
                if (ids := self.prefixes.get(event_type[: dot + 1])) is not None:
                    found |= ids
                dot = event_type.find(".", dot + 1)
        if self.everything and not event_type.startswith(RESERVED_PREFIX):
            found |= self.everything
        return found


class SubscriptionIndex:
    """Endpoint ids by tenant and pattern; kept in step with the endpoints by its owner."""

    def __init__(self) -> None:
        self._tenants: dict[uuid.UUID, _TenantSubscriptions] = {}

    def add(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, patterns: Iterable[str]) -> None:
        if tenant_id not in self._tenants:
            self._tenants[tenant_id] = _TenantSubscriptions()
        self._tenants[tenant_id].add(endpoint_id, patterns)

    def remove(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, patterns: Iterable[str]) -> None:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            return
        tenant.remove(endpoint_id, patterns)
        if not tenant:
            del self._tenants[tenant_id]

    def match(self, tenant_id: uuid.UUID, event_type: str) -> set[uuid.UUID]:
        """The ids of the tenant's endpoints with a pattern that selects ``event_type``."""
        tenant = self._tenants.get(tenant_id)
        return set() if tenant is None else tenant.match(event_type)
