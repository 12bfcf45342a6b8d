"""Hookline: self-hosted webhook delivery on Postgres."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hookline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
