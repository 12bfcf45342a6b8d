"""The operator console at ``/console``: signed in with the admin token, it shows what
``hookline status`` shows and manages tenants and their keys."""
