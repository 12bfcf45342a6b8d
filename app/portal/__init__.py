"""The tenant portal: pages a SaaS embeds for its own customer, reached through a signed,
short-lived link from ``POST /v1/portal-sessions``, scoped to one tenant (and optionally to some
of its endpoints, or to reading only)."""
