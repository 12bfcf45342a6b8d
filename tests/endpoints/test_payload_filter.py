"""The payload filter's semantics, as a table, and its validation (pure: no database)."""

from typing import Any

import pytest

from app.endpoints.payload_filter import (
    MAX_DEPTH,
    MAX_LIST,
    MAX_NODES,
    FilterError,
    compile_filter,
    compile_stored,
)

EVENT: dict[str, Any] = {
    "type": "invoice.paid",
    "channels": ["billing", "eu"],
    "metadata": {"region": "eu-west", "source": "api"},
    "data": {
        "amount": 250,
        "ratio": 0.5,
        "currency": "eur",
        "paid": True,
        "note": None,
        "customer": {"id": "cus_1", "tier": "gold"},
        "tags": ["vip", "new"],
        "items": [{"sku": "A"}, {"sku": "B"}],
        "count": "7",
    },
}

CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    # implicit equality, implicit AND
    ({"type": "invoice.paid"}, True),
    ({"type": "invoice.failed"}, False),
    ({"data.amount": 250, "data.currency": "eur"}, True),
    ({"data.amount": 250, "data.currency": "usd"}, False),
    ({"data.customer.id": "cus_1"}, True),
    ({"data.customer": {"id": "cus_1", "tier": "gold"}}, True),
    ({"data.customer": {"id": "cus_1"}}, False),  # objects equal only when whole
    # type-strict equality
    ({"data.amount": "250"}, False),
    ({"data.count": 7}, False),
    ({"data.amount": 250.0}, True),
    ({"data.paid": 1}, False),
    ({"data.paid": True}, True),
    ({"data.amount": True}, False),
    ({"data.note": None}, True),
    ({"data.missing": None}, False),
    # $eq / $neq / $ne
    ({"data.currency": {"$eq": "eur"}}, True),
    ({"data.currency": {"$neq": "eur"}}, False),
    ({"data.currency": {"$ne": "usd"}}, True),
    ({"data.missing": {"$neq": 1}}, True),
    # arrays: any element
    ({"channels": "eu"}, True),
    ({"channels": "us"}, False),
    ({"channels": {"$in": ["us", "billing"]}}, True),
    ({"channels": {"$nin": ["us", "billing"]}}, False),
    ({"channels": {"$neq": "eu"}}, False),
    ({"data.tags": ["vip", "new"]}, True),
    ({"data.items.1.sku": "B"}, True),
    ({"data.items.5.sku": "B"}, False),
    ({"data.items.sku": "A"}, False),  # no implicit walk through arrays
    # $in / $nin
    ({"data.currency": {"$in": ["usd", "eur"]}}, True),
    ({"data.amount": {"$in": ["250", True]}}, False),
    ({"data.paid": {"$in": [1]}}, False),
    ({"data.customer": {"$in": [{"id": "cus_1", "tier": "gold"}]}}, True),
    ({"data.missing": {"$nin": ["x"]}}, True),
    ({"data.missing": {"$in": [None]}}, False),
    # order: numbers with numbers, strings with strings
    ({"data.amount": {"$gt": 100, "$lte": 250}}, True),
    ({"data.amount": {"$gt": 250}}, False),
    ({"data.ratio": {"$lt": 1}}, True),
    ({"data.count": {"$gt": 5}}, False),
    ({"data.amount": {"$gt": "100"}}, False),
    ({"data.paid": {"$gte": 0}}, False),
    ({"data.currency": {"$gte": "eur", "$lt": "f"}}, True),
    ({"data.missing": {"$lt": 5}}, False),
    # $exists
    ({"data.note": {"$exists": True}}, True),
    ({"data.missing": {"$exists": False}}, True),
    ({"metadata.region": {"$exists": True}}, True),
    ({"metadata.region": "eu-west", "metadata.source": {"$ne": "cli"}}, True),
    # logical
    ({"$or": [{"type": "x"}, {"data.amount": 250}]}, True),
    ({"$or": [{"type": "x"}, {"data.amount": 1}]}, False),
    ({"$and": [{"type": "invoice.paid"}, {"channels": "eu"}]}, True),
    ({"$not": {"data.currency": "usd"}}, True),
    ({"data.amount": {"$not": {"$gt": 100}}}, False),
    ({"data.missing": {"$not": {"$gt": 100}}}, True),
]


@pytest.mark.parametrize(("document", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_matching(document: dict[str, Any], expected: bool) -> None:
    matcher = compile_filter(document)
    assert matcher.matches(EVENT) is expected
    assert (matcher.why_not(EVENT) is None) is expected


def test_explanation_names_the_failing_clause() -> None:
    matcher = compile_filter({"$and": [{"type": "invoice.paid"}, {"data.amount": {"$gt": 900}}]})
    assert matcher.why_not(EVENT) == (
        "$and[1].data.amount.$gt: $gt 900 is false (the value is 250)"
    )


def _nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {"type": "x"}
    for _ in range(depth):
        document = {"$not": document}
    return document


BAD: list[tuple[Any, str]] = [
    (
        {"$and": [{"type": "x"}, {"data.amount": {"$gtt": 5}}]},
        "filter.$and[1].data.amount.$gtt: unknown operator $gtt",
    ),
    ({"$where": "sleep(1)"}, "filter.$where: unknown operator $where"),
    ({"data.x": {"$where": "1"}}, "filter.data.x.$where: unknown operator $where (operators that"),
    ({"payload.x": 1}, "filter.payload.x: unknown field 'payload.x'"),
    ({"type.x": 1}, "filter.type.x: type has no fields"),
    ({"data..x": 1}, "filter.data..x: a path has an empty segment"),
    ({"data.x": {"$gt": True}}, "filter.data.x.$gt: $gt takes a number or a string"),
    ({"data.x": {"$gt": None}}, "takes a number or a string"),
    ({"data.x": {"$in": "abc"}}, "filter.data.x.$in: $in takes a list"),
    ({"data.x": {"$in": list(range(MAX_LIST + 1))}}, f"at most {MAX_LIST} values"),
    ({"data.x": {"$exists": 1}}, "$exists takes true or false"),
    ({"data.x": {"$eq": 1, "y": 2}}, "mixes operators and field names"),
    ({"data.x": {}}, None),  # an empty object is a value to compare to, not an error
    ({"$or": []}, "filter.$or: $or takes a non-empty list"),
    ({"$or": {"type": "x"}}, "$or takes a non-empty list"),
    ({"$and": [5]}, "filter.$and[0]: must be a JSON object"),
    ({"$not": {}}, "filter.$not: an empty condition"),
    (_nested(MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
    (_nested(5000), f"nested deeper than {MAX_DEPTH} levels"),
    ({f"data.k{i}": i for i in range(MAX_NODES + 1)}, f"more than {MAX_NODES} conditions"),
    ({"$or": [{"type": "x"}] * (MAX_NODES + 1)}, f"more than {MAX_NODES} conditions"),
    ({"data." + ".".join(["a"] * 20): 1}, "at most 16 segments"),
    ({"data." + "a" * 300: 1}, "at most 256 characters"),
    ([{"type": "x"}], "filter: must be a JSON object"),
]


@pytest.mark.parametrize(("document", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_invalid_filters_name_the_path(document: Any, message: str | None) -> None:
    if message is None:
        compile_filter(document)
        return
    with pytest.raises(FilterError) as raised:
        compile_filter(document)
    assert message in raised.value.located()


def test_a_stored_filter_that_no_longer_compiles_matches_nothing() -> None:
    """Written behind the API's back, it must neither stop fan-out nor let everything through."""
    broken, everything = compile_stored({"data.amount": {"$gtt": 1}}), compile_stored({})

    assert compile_stored(None) is None
    assert broken is not None
    assert broken.matches(EVENT) is False
    assert everything is not None
    assert everything.matches(EVENT) is True
