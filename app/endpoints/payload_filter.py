"""Payload filters: MongoDB-style conditions an event must meet to be delivered to an endpoint.

A filter is a JSON object. Each key is either a field path or a logical operator, and every key
must hold (an implicit AND)::

    {"type": "invoice.paid",
     "data.amount": {"$gte": 100},
     "data.customer.tier": {"$in": ["gold", "platinum"]},
     "$or": [{"channels": "eu"}, {"metadata.region": {"$exists": true}}]}

Paths are dotted and start at one of the event's parts: ``type``, ``channels``, ``data`` or
``data.<key>...``, ``metadata`` or ``metadata.<key>``. A segment made of digits indexes an array
(``data.items.0.sku``); nothing else walks into arrays. A path whose value is a plain JSON value
(or an object without ``$`` keys) compares for equality; an object of ``$`` operators applies
each of them (all must hold).

Comparisons are type-strict: a number never equals a string, ``true`` is not ``1``; integers and
decimals compare as numbers (``1 == 1.0``); objects and arrays are equal when their contents are.
``$gt``/``$gte``/``$lt``/``$lte`` compare two numbers or two strings (by code point) and are
false for anything else. On an array field, ``$eq``, ``$in`` and the order operators hold when
the whole array or any element satisfies them (MongoDB's rule: ``{"channels": "eu"}`` matches
``["eu", "us"]``); ``$neq`` and ``$nin`` are their exact negations. A missing field fails every
operator except ``$neq``, ``$nin``, ``$exists: false`` and a ``$not`` around one that fails.

A filter is parsed and checked once (:func:`compile_filter`, which raises :class:`FilterError`
naming the path of the problem inside the filter) into a tree of small nodes; matching an event
walks that tree and never looks at the JSON again. Size limits keep a hostile filter cheap: at
most :data:`MAX_NODES` conditions, :data:`MAX_DEPTH` levels of logical nesting, and
:data:`MAX_LIST` values in an ``$in``/``$nin`` list (matched through a set where the values
allow it).
"""

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

#: Conditions (operators and implicit equalities) a filter may hold in all.
MAX_NODES = 64
#: How deep ``$and``/``$or``/``$not`` may nest.
MAX_DEPTH = 6
#: Values in one ``$in``/``$nin`` list.
MAX_LIST = 256
#: Segments of one path (``data.a.b`` has three).
MAX_PATH_SEGMENTS = 16
#: Characters of one path.
MAX_PATH_LENGTH = 256
#: Bytes of a filter as JSON.
MAX_FILTER_BYTES = 16384
#: Roots a path may start at, and whether segments may follow.
ROOTS = {"type": False, "channels": False, "data": True, "metadata": True}

LOGICAL = ("$and", "$or", "$not")
FIELD_OPERATORS = (
    "$eq",
    "$neq",
    "$ne",
    "$in",
    "$nin",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$exists",
    "$not",
)
#: MongoDB's operators that evaluate code: refused with a word of why.
CODE_OPERATORS = ("$where", "$expr", "$function", "$accumulator")
#: The event as a filter reads it: a row of the events table, or any mapping with these keys.
Event = Mapping[str, Any]

_MISSING: Any = object()
log = logging.getLogger("hookline.endpoints.payload_filter")


class FilterError(ValueError):
    """A filter that cannot be compiled. ``path`` locates the problem inside the filter, in
    the notation users write (``$and[1].data.amount``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        #: For :func:`app.errors.field_path`: one part, already spelled as users write it.
        self.path: tuple[str, ...] = (where,) if where else ()

    def located(self) -> str:
        """The problem with its place, as users read it: ``filter.$or[0].type: ...``."""
        return f"filter.{self.where}: {self}" if self.where else f"filter: {self}"


# Values ------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of two JSON values, type-strict (``True`` is not ``1``, ``"1"`` is not ``1``),
    numbers by value (``1 == 1.0``)."""
    kind_a, kind_b = type(a), type(b)
    if kind_a is not kind_b:
        return _is_number(a) and _is_number(b) and a == b
    if kind_a is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind_a is dict:
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _ordered(value: Any, operand: Any, compare: Callable[[Any, Any], bool]) -> bool:
    """An order comparison: two numbers or two strings, else false."""
    if type(operand) is str:
        return type(value) is str and compare(value, operand)
    return _is_number(value) and compare(value, operand)


def _hashable_key(value: Any) -> tuple[str, Any] | None:
    """A set key that keeps JSON's type distinctions (``True`` apart from ``1``), or None for
    objects and arrays, which are compared one by one."""
    if type(value) is bool:
        return ("b", value)
    if _is_number(value):
        return ("n", value)
    if type(value) is str:
        return ("s", value)
    if value is None:
        return ("z", None)
    return None


# The tree ------------------------------------------------------------------------------------


class Node:
    """A compiled condition. ``where`` is its path inside the filter, for explanations."""

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where

    def matches(self, event: Event) -> bool:
        raise NotImplementedError

    def why_not(self, event: Event) -> str | None:
        """Why ``event`` fails this condition (naming the clause), or None when it matches."""
        return None if self.matches(event) else f"{self.where or 'filter'} does not hold"


class _All(Node):
    __slots__ = ("nodes",)

    def __init__(self, where: str, nodes: Sequence[Node]) -> None:
        super().__init__(where)
        self.nodes = tuple(nodes)

    def matches(self, event: Event) -> bool:
        return all(node.matches(event) for node in self.nodes)

    def why_not(self, event: Event) -> str | None:
        for node in self.nodes:
            reason = node.why_not(event)
            if reason is not None:
                return reason
        return None


class _Any(_All):
    __slots__ = ()

    def matches(self, event: Event) -> bool:
        return any(node.matches(event) for node in self.nodes)

    def why_not(self, event: Event) -> str | None:
        if self.matches(event):
            return None
        reasons = "; ".join(str(node.why_not(event)) for node in self.nodes)
        return f"{self.where}: no branch matched ({reasons})"


class _Not(Node):
    __slots__ = ("node",)

    def __init__(self, where: str, node: Node) -> None:
        super().__init__(where)
        self.node = node

    def matches(self, event: Event) -> bool:
        return not self.node.matches(event)

    def why_not(self, event: Event) -> str | None:
        return None if self.matches(event) else f"{self.where}: the negated condition holds"


class _Field(Node):
    """One operator applied to the value at a path."""

    __slots__ = ("describe", "root", "segments", "test")

    def __init__(
        self,
        where: str,
        path: tuple[str, ...],
        test: Callable[[Any], bool],
        describe: str,
    ) -> None:
        super().__init__(where)
        self.root = path[0]
        self.segments = path[1:]
        self.test = test
        self.describe = describe

    def resolve(self, event: Event) -> Any:
        value = event.get(self.root, _MISSING)
        for segment in self.segments:
            kind = type(value)
            if kind is dict:
                value = value.get(segment, _MISSING)
            elif kind is list and segment.isdigit():
                index = int(segment)
                value = value[index] if index < len(value) else _MISSING
            else:
                return _MISSING
        return value

    def matches(self, event: Event) -> bool:
        return self.test(self.resolve(event))

    def why_not(self, event: Event) -> str | None:
        value = self.resolve(event)
        if self.test(value):
            return None
        shown = "missing" if value is _MISSING else _short(value)
        return f"{self.where}: {self.describe} is false (the value is {shown})"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


# Operators: each builds a test of one value (``_MISSING`` when the path is absent) -----------


def _any_element(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``test`` on the value, or on any element when the value is an array."""

    def on_value(value: Any) -> bool:
        if test(value):
            return True
        return type(value) is list and any(test(item) for item in value)

    return on_value


def _eq(operand: Any) -> Callable[[Any], bool]:
    if type(operand) is str:  # the common case, without the general comparison's dispatch
        return _any_element(lambda v: type(v) is str and v == operand)
    if type(operand) is bool or operand is None:
        return _any_element(lambda v: v is operand)
    return _any_element(lambda v: v is not _MISSING and json_equal(v, operand))


def _in(operands: list[Any]) -> Callable[[Any], bool]:
    keys = {_hashable_key(o) for o in operands}
    others = [o for o in operands if _hashable_key(o) is None]
    keys.discard(None)

    def member(value: Any) -> bool:
        if value is _MISSING:
            return False
        key = _hashable_key(value)
        if key is not None:
            return key in keys
        return any(json_equal(value, o) for o in others)

    return _any_element(member)


def _negated(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: not test(value)


def _order(name: str) -> Callable[[Any], Callable[[Any], bool]]:
    compare: Callable[[Any, Any], bool] = {
        "$gt": lambda a, b: a > b,
        "$gte": lambda a, b: a >= b,
        "$lt": lambda a, b: a < b,
        "$lte": lambda a, b: a <= b,
    }[name]
    return lambda operand: _any_element(lambda v: _ordered(v, operand, compare))


def _exists(operand: bool) -> Callable[[Any], bool]:
    return lambda value: (value is not _MISSING) is operand


# Compiling ---------------------------------------------------------------------------------


@dataclass
class _Budget:
    nodes: int = 0

    def spend(self, where: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FilterError(where, f"more than {MAX_NODES} conditions")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _parse_path(where: str, key: str) -> tuple[str, ...]:
    if len(key) > MAX_PATH_LENGTH:
        raise FilterError(where, f"a path is at most {MAX_PATH_LENGTH} characters")
    segments = tuple(key.split("."))
    root = segments[0]
    if root not in ROOTS:
        raise FilterError(
            where,
            f"unknown field {key!r}: a path starts with data, metadata, type or channels"
            + (" (operators start with $)" if key.startswith("$") else ""),
        )
    if len(segments) > 1 and not ROOTS[root]:
        raise FilterError(where, f"{root} has no fields")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise FilterError(where, f"a path has at most {MAX_PATH_SEGMENTS} segments")
    if any(not segment for segment in segments):
        raise FilterError(where, "a path has an empty segment")
    return segments


def _is_operator_object(value: Any) -> bool:
    return type(value) is dict and any(type(k) is str and k.startswith("$") for k in value)


def _check_operand(where: str, name: str, operand: Any) -> None:
    if name in ("$gt", "$gte", "$lt", "$lte"):
        if not (type(operand) is str or _is_number(operand)):
            raise FilterError(where, f"{name} takes a number or a string")
        if type(operand) is float and not math.isfinite(operand):
            raise FilterError(where, f"{name} takes a finite number")
    elif name in ("$in", "$nin"):
        if type(operand) is not list:
            raise FilterError(where, f"{name} takes a list of values")
        if len(operand) > MAX_LIST:
            raise FilterError(where, f"{name} takes at most {MAX_LIST} values")
    elif name == "$exists" and type(operand) is not bool:
        raise FilterError(where, "$exists takes true or false")


def _field_operator(
    where: str, path: tuple[str, ...], name: str, operand: Any, budget: _Budget, depth: int
) -> Node:
    budget.spend(where)
    if name not in FIELD_OPERATORS:
        hint = " (operators that run code are not supported)" if name in CODE_OPERATORS else ""
        raise FilterError(where, f"unknown operator {name}{hint}")
    if name == "$not":
        if depth >= MAX_DEPTH:
            raise FilterError(where, f"nested deeper than {MAX_DEPTH} levels")
        return _Not(where, _field_condition(where, path, operand, budget, depth + 1))
    _check_operand(where, name, operand)
    shown = f"{name} {_short(operand)}"
    test: Callable[[Any], bool]
    if name == "$eq":
        test = _eq(operand)
    elif name in ("$neq", "$ne"):
        test = _negated(_eq(operand))
    elif name == "$in":
        test = _in(operand)
    elif name == "$nin":
        test = _negated(_in(operand))
    elif name == "$exists":
        test = _exists(operand)
    else:
        test = _order(name)(operand)
    return _Field(where, path, test, shown)


def _field_condition(
    where: str, path: tuple[str, ...], condition: Any, budget: _Budget, depth: int
) -> Node:
    """The condition on one path: operators, or a value to equal."""
    if not _is_operator_object(condition):
        budget.spend(where)
        return _Field(where, path, _eq(condition), f"= {_short(condition)}")
    if not all(type(k) is str and k.startswith("$") for k in condition):
        raise FilterError(where, "mixes operators and field names; compare to an object with $eq")
    if not condition:
        raise FilterError(where, "an empty condition")
    nodes = [
        _field_operator(f"{where}.{name}", path, name, operand, budget, depth)
        for name, operand in condition.items()
    ]
    return nodes[0] if len(nodes) == 1 else _All(where, nodes)


def _document(where: str, document: Any, budget: _Budget, depth: int) -> Node:
    if type(document) is not dict:
        raise FilterError(where, "must be a JSON object")
    if not document and where:
        raise FilterError(where, "an empty condition")
    nodes = [_clause(where, key, value, budget, depth) for key, value in document.items()]
    return nodes[0] if len(nodes) == 1 else _All(where, nodes)


def _clause(where: str, key: str, value: Any, budget: _Budget, depth: int) -> Node:
    here = _join(where, key)
    if not key.startswith("$"):
        return _field_condition(here, _parse_path(here, key), value, budget, depth)
    if key not in LOGICAL:
        raise FilterError(here, f"unknown operator {key} (here a path or $and, $or, $not)")
    if depth >= MAX_DEPTH:
        raise FilterError(here, f"nested deeper than {MAX_DEPTH} levels")
    budget.spend(here)
    if key == "$not":
        return _Not(here, _document(here, value, budget, depth + 1))
    if type(value) is not list or not value:
        raise FilterError(here, f"{key} takes a non-empty list of conditions")
    if len(value) > MAX_NODES:
        raise FilterError(here, f"more than {MAX_NODES} conditions")
    nodes = [_document(f"{here}[{i}]", item, budget, depth + 1) for i, item in enumerate(value)]
    return _All(here, nodes) if key == "$and" else _Any(here, nodes)


class _Everything(Node):
    """The empty filter ``{}``: every event matches."""

    __slots__ = ()

    def matches(self, event: Event) -> bool:
        del event
        return True


def compile_filter(document: Any) -> Node:
    """The filter as a tree to match events against, or :class:`FilterError`."""
    if type(document) is dict and not document:
        return _Everything("")
    return _document("", document, _Budget(), 0)


class _Nothing(Node):
    """A stored filter that no longer compiles: it fails closed."""

    __slots__ = ()

    def matches(self, event: Event) -> bool:
        del event
        return False


def compile_stored(document: Any) -> Node | None:
    """A filter as stored (JSON null: none). One that does not compile (written behind the
    API's back, or under older limits) matches nothing, and says so in the log, rather than
    stopping the fan-out of every event of its tenant."""
    if document is None:
        return None
    try:
        return compile_filter(document)
    except FilterError as exc:
        log.warning("endpoint.filter_invalid", extra={"error": exc.located()})
        return _Nothing("")


def validate_filter(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The filter unchanged when it compiles and is small enough (a pydantic validator)."""
    if document is not None:
        if len(orjson.dumps(document)) > MAX_FILTER_BYTES:
            raise FilterError("", f"larger than {MAX_FILTER_BYTES} bytes as JSON")
        compile_filter(document)
    return document
