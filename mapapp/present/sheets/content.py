"""What a commune fact sheet says: its indicators (latest value, rank, change, trend), projects, lineage, neighbours.

The figures come from the functions behind the pages: the profile
(:func:`mapapp.present.profiles.build_profile`, values across mergers), the ranking
(:func:`mapapp.present.ranking.build_ranking`, ranks on the sheet year's units) and the
projects of the year (:func:`mapapp.query.read.projects_for_year`). A :class:`Context`
keeps the rankings and neighbours computed for one job, so a book of 21 sheets reads
each ranking once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mapapp.core.names import sort_key
from mapapp.present.choropleth import area_name, change_unit, signed
from mapapp.present.export.geometry import version_geometry
from mapapp.present.profiles import build_profile
from mapapp.present.ranking import build_ranking
from mapapp.present.viewstate import ViewState
from mapapp.query import read as query

NEIGHBOUR_GAP_M = 30.0  # boundaries within this distance touch (simplified coverages leave slivers)


@dataclass
class Context:
    """One sheet job: the year, the language, and what every sheet of it shares."""

    conn: object
    year: int
    lang: str
    years: list[int]
    version: object = None
    geometry: object = None
    rankings: dict = field(default_factory=dict)
    projects: list = None
    neighbours: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)  # build_profile's memo, shared by the job's sheets
    _tree: object = None
    _order: list = field(default_factory=list)

    def __post_init__(self):
        self.version = query.version_for_year(self.conn, self.year)
        self.geometry = version_geometry(self.conn, self.version)
        self.projects = query.projects_for_year(self.conn, self.year)

    def ranking(self, indicator: str, year: int) -> dict:
        """The ranking (highest first) of ``indicator`` in ``year`` on the sheet year's units."""
        key = (indicator, year)
        if key not in self.rankings:
            state = ViewState(indicator, year, lang=self.lang,
                              units_year=self.year if year != self.year else None)
            self.rankings[key] = build_ranking(self.conn, state, "value", "desc")
        return self.rankings[key]

    def neighbours_of(self, key: tuple[str, str]) -> list[str]:
        """Names of the units whose boundary touches the unit ``key`` (sorted as Vietnamese).

        Candidates come from a spatial index of the layout, so one sheet of a country's
        11,163 communes tests a handful of units, not all of them.
        """
        import shapely

        if key not in self.neighbours:
            if self._tree is None:
                self._order = list(self.geometry.units.values())
                self._tree = shapely.STRtree([u.geom for u in self._order])
            unit = self.geometry.units.get(key)
            near = unit.geom.buffer(NEIGHBOUR_GAP_M) if unit is not None else None
            found = [] if near is None else [self._order[i] for i in self._tree.query(near, predicate="intersects")]
            self.neighbours[key] = sorted((o.name for o in found if (o.code, o.valid_from) != key), key=sort_key)
        return self.neighbours[key]


def units_of_year(ctx: Context) -> list[dict]:
    """The units of the sheet year's layout, sorted by name (the order of a book of sheets)."""
    return sorted(query.version_units(ctx.conn, ctx.version.id), key=lambda u: sort_key(u["name"]))


def commune_sheet(ctx: Context, code: str, valid_from: str | None) -> dict:
    """Everything one fact sheet shows, JSON-ready.

    Returns
    -------
    dict
        ``unit``, ``area``, ``year``, ``version``, ``key`` (code, valid_from),
        ``rows`` (one per indicator with values: name, unit, latest value and year,
        rank and count, change since the first year with data, the points for the trend),
        ``projects`` (active in the year), ``neighbours``, ``predecessors``, ``successor``,
        ``sources``, ``illustrative``.

    Raises
    ------
    mapapp.query.read.NotFound
        For an unknown commune.
    """
    profile = build_profile(ctx.conn, code, valid_from, ctx.years, ctx.lang, ctx.values)
    unit = profile["unit"]
    key = (unit["code"], unit["valid_from"] or "")
    rows = [_row(ctx, series, key) for series in profile["series"] if series["has_values"]]
    projects = [p for p in ctx.projects if any(site["code"] == unit["code"] for site in p["sites"])]
    sources = list(profile["sources"])
    for project in projects:
        entry = {"title": project["source"], "url": (project["source_url"] or "").split(" ; ")[0]}
        if entry not in sources:
            sources.append(entry)
    return {
        "unit": unit, "key": key, "year": ctx.year, "version": ctx.version.label,
        "area": area_name(ctx.year, ctx.version.unit_count, ctx.lang, ctx.conn),
        "rows": rows, "projects": projects, "neighbours": ctx.neighbours_of(key),
        "predecessors": profile["predecessors"], "successor": profile["successor"],
        "sources": sources,
        "illustrative": any(r["illustrative"] for r in rows),
    }


def _row(ctx: Context, series: dict, key: tuple[str, str]) -> dict:
    """One indicator of the sheet: latest value up to the sheet year, rank then, change since the first value."""
    points = [p for p in series["points"] if p["value"] is not None and p["year"] <= ctx.year]
    latest = points[-1] if points else None
    first = points[0] if points else None
    rank, ranked = None, 0
    if latest is not None:
        ranking = ctx.ranking(series["id"], latest["year"])
        ranked = sum(r["rank"] is not None for r in ranking["rows"])
        rank = next((r["rank"] for r in ranking["rows"] if (r["code"], r["valid_from"] or "") == key), None)
    indicator = query.indicator(ctx.conn, series["id"])
    change = None
    if latest is not None and first is not None and first["year"] != latest["year"]:
        change = round(latest["value"] - first["value"], 9)
    return {
        "id": series["id"], "name": series["name"], "unit": series["unit"], "decimals": series["decimals"],
        "latest": latest["value"] if latest else None, "latest_text": latest["value_text"] if latest else "–",
        "latest_year": latest["year"] if latest else None,
        "rank": rank, "ranked": ranked,
        "first_year": first["year"] if first else None, "change": change,
        "change_text": signed(change, series["decimals"], ctx.lang) if change is not None else "–",
        "change_unit": change_unit(indicator, ctx.lang),
        "points": [(p["year"], p["value"]) for p in series["points"] if p["year"] <= ctx.year],
        "illustrative": any(p["illustrative"] for p in points),
    }
