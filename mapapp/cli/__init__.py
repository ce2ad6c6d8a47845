"""The command line (``flask --app mapapp ...`` and ``python -m mapapp ...``).

Uses :mod:`mapapp.present`, :mod:`mapapp.ingest` and below; never :mod:`mapapp.web`."""
