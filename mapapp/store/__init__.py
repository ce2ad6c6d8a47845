"""The store: schema, engine, migrations, the indicator catalogue, accounts, backup and restore.

Imports only :mod:`mapapp.core`."""
