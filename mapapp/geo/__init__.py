"""Geography: the unit registry over time, boundary versions (coverage cleaning, merged layouts), geometry packs.

Imports :mod:`mapapp.core` and :mod:`mapapp.store`."""
