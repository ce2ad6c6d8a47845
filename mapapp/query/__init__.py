"""Query: what the store holds for a view — versions of a year, values on a layout, aggregation across mergers, the answer cache.

Imports :mod:`mapapp.core`, :mod:`mapapp.store` and :mod:`mapapp.geo`."""
