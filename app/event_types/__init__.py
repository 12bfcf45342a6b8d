"""The event-type catalogue: per tenant, each type's description, JSON Schema and examples."""
