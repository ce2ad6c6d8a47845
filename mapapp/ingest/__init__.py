"""Ingest: read source files (annexes, boundary files, project lists, ../shared), match units, seed, import, undo.

Writes through :mod:`mapapp.store` and :mod:`mapapp.geo`; never renders and never imports :mod:`mapapp.query`."""
