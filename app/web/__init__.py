"""The browser side of Hookline, shared by the tenant portal and the operator console: signed
session tokens, CSRF, security headers, templates, inline SVG charts and the static assets.

It knows nothing of tenants or endpoints; ``app.portal`` and ``app.console`` build pages on it
from the same services the REST API calls.
"""
