"""Commands for developers working against a running Hookline: ``send``, ``events``,
``deliveries``, ``attempts``, ``replay``, ``verify`` and ``listen``. They speak only the REST API,
through :mod:`hookline.client`; nothing here touches the database."""
