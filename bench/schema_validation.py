"""Validating one typical event's data: jsonschema vs fastjsonschema vs Hookline's validator.

    python -m bench.schema_validation --rounds 5 --number 20000 [--patterns]

Prints microseconds per validation (median of the rounds) for a valid payload and for one with
two errors, for ``jsonschema``'s ``Draft202012Validator``, ``fastjsonschema`` and
:class:`app.event_types.validators.DataValidator` (fastjsonschema when it says valid, jsonschema
for the errors).

``--patterns`` adds a ``pattern`` to the two ids of the typical schema, so the cost of matching
them with RE2 (Hookline) can be read against Python's ``re`` (the two libraries as shipped), and
a last row: Hookline checking a ``(a+)+$`` pattern against 100,000 ``a`` and a ``!``, which
Python's ``re`` would not finish.
"""

import argparse
import copy
import statistics
import timeit
from collections.abc import Callable
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from app.event_types.validators import DataValidator
from bench.typical_schema import SCHEMA, payload


def _fast(check: Callable[[Any], Any]) -> Callable[[Any], bool]:
    def valid(data: Any) -> bool:
        try:
            check(data)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return valid


def _timer(check: Callable[[Any], Any], data: Any) -> timeit.Timer:
    return timeit.Timer(lambda: check(data))


def _with_patterns(schema: dict[str, Any]) -> dict[str, Any]:
    patterned = copy.deepcopy(schema)
    patterned["properties"]["id"]["pattern"] = "^in_[0-9]+$"
    patterned["properties"]["customer"]["properties"]["id"]["pattern"] = "^cus_[A-Za-z0-9]+$"
    return patterned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--patterns", action="store_true", help="ids with a pattern")
    args = parser.parse_args()
    schema = _with_patterns(SCHEMA) if args.patterns else SCHEMA
    exact = Draft202012Validator(schema)
    fast = _fast(fastjsonschema.compile(schema, use_default=False, use_formats=False))
    ours = DataValidator(schema)
    good = payload(1)
    bad = {**good, "amount": "ten", "customer": {"id": 7}}
    candidates: dict[str, tuple[Callable[[Any], object], tuple[Any, Any]]] = {
        "jsonschema Draft202012Validator (every error)": (
            lambda d: list(exact.iter_errors(d)),
            (good, bad),
        ),
        "fastjsonschema (first error only)": (fast, (good, bad)),
        "hookline DataValidator (every error)": (ours.errors, (good, bad)),
    }
    if args.patterns:
        hostile = DataValidator({"properties": {"sku": {"type": "string", "pattern": "(a+)+$"}}})
        candidates["hookline, (a+)+$ over 100,001 characters"] = (
            hostile.errors,
            ({"sku": "a" * 100_000}, {"sku": "a" * 100_000 + "!"}),
        )
    print(f"median of {args.rounds} rounds of {args.number} validations; µs per validation")
    for name, (check, payloads) in candidates.items():
        row = []
        for data in payloads:
            timer = _timer(check, data)
            times = [
                timer.timeit(number=args.number) / args.number * 1e6 for _ in range(args.rounds)
            ]
            row.append(statistics.median(times))
        print(f"{name:48} valid {row[0]:9.1f}   invalid {row[1]:9.1f}")


if __name__ == "__main__":
    main()
