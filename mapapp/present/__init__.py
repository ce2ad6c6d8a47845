"""Presentation: classification and palettes, the choropleth view, charts, rankings, profiles, district summary, exports.

Uses :mod:`mapapp.query`; reads no files."""
