"""Foundation shared by every layer: place names, the UI text table, atlas settings, strict parsers.

Imports nothing else of mapapp."""
