"""Delivery tests use the shared `api` (with workers), `receiver` and `serve` fixtures."""
