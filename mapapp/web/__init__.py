"""The web layer: blueprints (pages, API, exports, imports, accounts), view-state parsing, security, transport, assets.

Uses :mod:`mapapp.present`, :mod:`mapapp.ingest` and below."""
