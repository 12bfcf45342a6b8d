"""Validating one typical event's data: jsonschema vs fastjsonschema vs Hookline's validator.

    python -m bench.schema_validation --rounds 5 --number 20000

Prints microseconds per validation (median of the rounds) for a valid payload and for one with
two errors, for ``jsonschema``'s ``Draft202012Validator``, ``fastjsonschema`` and
:class:`app.event_types.validators.DataValidator` (fastjsonschema when it says valid, jsonschema
for the errors).
"""

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20_000)
    args = parser.parse_args()
    exact = Draft202012Validator(SCHEMA)
    fast = _fast(fastjsonschema.compile(SCHEMA, use_default=False, use_formats=False))
    ours = DataValidator(SCHEMA)
    good = payload(1)
    bad = {**good, "amount": "ten", "customer": {"id": 7}}
    candidates: dict[str, Callable[[Any], object]] = {
        "jsonschema Draft202012Validator (every error)": lambda d: list(exact.iter_errors(d)),
        "fastjsonschema (first error only)": fast,
        "hookline DataValidator (every error)": ours.errors,
    }
    print(f"median of {args.rounds} rounds of {args.number} validations; µs per validation")
    for name, check in candidates.items():
        row = []
        for data in (good, bad):
            timer = timeit.Timer(lambda check=check, data=data: check(data))
            times = [
                timer.timeit(number=args.number) / args.number * 1e6 for _ in range(args.rounds)
            ]
            row.append(statistics.median(times))
        print(f"{name:48} valid {row[0]:7.1f}   invalid {row[1]:7.1f}")


if __name__ == "__main__":
    main()
