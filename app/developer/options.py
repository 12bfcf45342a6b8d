"""The options every developer command takes, and the client they make."""

from typing import Annotated

import typer

from app.developer.output import fail
from app.developer.profiles import Connection, ProfileError, resolve

Url = Annotated[
    str | None,
    typer.Option("--url", help="Hookline's address (else HOOKLINE_URL, the profile's url)."),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key", help="A tenant API key (else HOOKLINE_API_KEY, the profile's api_key)."
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile", help="A profile of ~/.config/hookline/config.toml (else HOOKLINE_PROFILE)."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Limit = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many, newest first.")]


def connection(url: str | None, api_key: str | None, profile: str | None) -> Connection:
    try:
        return resolve(url, api_key, profile)
    except ProfileError as exc:
        fail(str(exc), code=2)
