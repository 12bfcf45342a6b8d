"""The subscription index selects exactly the endpoints ``matches`` selects, whatever the
patterns and types, also after endpoints are added, changed and removed."""

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from app.delivery.subscriptions import SubscriptionIndex
from app.endpoints.filters import matches

#: Few words, so that random patterns and types often share prefixes; odd ones included.
_WORDS = st.sampled_from(["hookline", "order", "line", "a", "paid", "", "*", "order."])
_TYPES = st.lists(_WORDS, min_size=1, max_size=4).map(".".join)
_PATTERNS = st.one_of(_TYPES, _TYPES.map(lambda t: t + ".*"), st.just("*"), st.just("hookline.*"))
_TENANTS = [uuid.UUID(int=1), uuid.UUID(int=2)]
_ENDPOINTS = st.lists(
    st.tuples(st.sampled_from(_TENANTS), st.lists(_PATTERNS, max_size=4)), max_size=12
)


def _expected(
    endpoints: dict[uuid.UUID, tuple[uuid.UUID, list[str]]], tenant: uuid.UUID, event_type: str
) -> set[uuid.UUID]:
    return {
        endpoint_id
        for endpoint_id, (owner, patterns) in endpoints.items()
        if owner == tenant and matches(patterns, event_type)
    }


@settings(max_examples=400)
@given(
    endpoints=_ENDPOINTS,
    replaced=st.lists(st.tuples(st.integers(0, 11), st.lists(_PATTERNS, max_size=3))),
    removed=st.sets(st.integers(0, 11)),
    event_types=st.lists(_TYPES, min_size=1, max_size=6),
)
def test_the_index_agrees_with_matches(
    endpoints: list[tuple[uuid.UUID, list[str]]],
    replaced: list[tuple[int, list[str]]],
    removed: set[int],
    event_types: list[str],
) -> None:
    index = SubscriptionIndex()
    known = {uuid.UUID(int=100 + n): entry for n, entry in enumerate(endpoints)}
    for endpoint_id, (tenant, patterns) in known.items():
        index.add(tenant, endpoint_id, patterns)
    ids = list(known)
    for n, patterns in replaced:  # a changed subscription: out with the old, in with the new
        if n < len(ids):
            tenant, old = known[ids[n]]
            index.remove(tenant, ids[n], old)
            index.add(tenant, ids[n], patterns)
            known[ids[n]] = (tenant, patterns)
    for n in removed:
        if n < len(ids) and ids[n] in known:
            tenant, patterns = known.pop(ids[n])
            index.remove(tenant, ids[n], patterns)

    # Types each pattern selects, and their near misses, besides the random ones.
    patterns = {p for _, entry in endpoints for p in entry} | {p for _, e in replaced for p in e}
    probes = {"hookline.endpoint.disabled", "order.paid", *event_types, *patterns}
    probes |= {p.removesuffix("*") + tail for p in patterns for tail in ("x", "x.y", "")}
    for event_type in sorted(probes):
        for tenant in _TENANTS:
            assert index.match(tenant, event_type) == _expected(known, tenant, event_type)


def test_catch_alls_do_not_receive_hookline_events_but_named_prefixes_do() -> None:
    index = SubscriptionIndex()
    tenant, everything, operational, exact = _TENANTS[0], uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    index.add(tenant, everything, ["*"])
    index.add(tenant, operational, ["hookline.*"])
    index.add(tenant, exact, ["order.line.added"])

    assert index.match(tenant, "hookline.delivery.dead") == {operational}
    assert index.match(tenant, "order.line.added") == {everything, exact}
    assert index.match(_TENANTS[1], "order.line.added") == set()


def test_removing_the_last_subscription_forgets_the_tenant() -> None:
    index = SubscriptionIndex()
    tenant, endpoint = _TENANTS[0], uuid.uuid4()
    index.add(tenant, endpoint, ["order.*", "*", "invoice.paid"])
    index.remove(tenant, endpoint, ["order.*", "*", "invoice.paid"])

    assert index._tenants == {}
