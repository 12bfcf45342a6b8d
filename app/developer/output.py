"""How the developer commands answer: rich tables for people, ``--json`` for scripts, and one
line on stderr with a non-zero status when something fails."""

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from hookline.client import APIError, HooklineError


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"hookline: {message}", err=True)
    raise typer.Exit(code=code)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """A refusal or an unreachable server as one line (and one per field error), exit 1."""
    try:
        yield
    except APIError as exc:
        fields = "".join(f"\n  {e.field}: {e.message}" for e in exc.errors)
        fail(f"{exc.status} {exc.title}: {exc.detail}{fields}")
    except HooklineError as exc:
        fail(str(exc))


def console() -> Console:
    """Wide enough for whole ids when the output is a pipe or a file (tests, ``| grep``)."""
    return Console(width=None if sys.stdout.isatty() else 200)


def print_json(items: BaseModel | Sequence[BaseModel]) -> None:
    if isinstance(items, BaseModel):
        typer.echo(json.dumps(items.model_dump(mode="json", by_alias=True), indent=2))
    else:
        dumped = [item.model_dump(mode="json", by_alias=True) for item in items]
        typer.echo(json.dumps(dumped, indent=2))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def print_table(
    title: str, rows: Iterable[Any], columns: Sequence[tuple[str, Callable[[Any], object]]]
) -> None:
    table = Table(title=title, title_justify="left")
    for header, _ in columns:
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*(_cell(read(row)) for _, read in columns))
    console().print(table)


def print_listing(
    title: str,
    rows: Sequence[BaseModel],
    columns: Sequence[tuple[str, Callable[[Any], object]]],
    *,
    as_json: bool,
) -> None:
    """A list command's rows: a table for a person, JSON with ``--json`` for a script."""
    if as_json:
        print_json(rows)
    else:
        print_table(title, rows, columns)
