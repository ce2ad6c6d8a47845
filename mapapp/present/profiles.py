"""The profile of one commune: every indicator over the years, its projects, its place in the registry.

A commune's history crosses the 2020 and 2025 mergers: for the years before the
unit existed, its values are built from its predecessors along the registry's
successor links (:mod:`mapapp.aggregate`: sums, rates recomputed from summed
numerators and denominators); after it ended, the profile points to its successor.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from mapapp.core.i18n import text
from mapapp.geo.units import Unit, successor_on, year_end
from mapapp.present import charts, classify
from mapapp.query import aggregate
from mapapp.query import read as query
from mapapp.store import db


def find_unit(conn: sa.Connection, code: str, valid_from: str | None) -> tuple[int, Unit]:
    """The registry unit keyed ``(code, valid_from)``.

    With ``valid_from`` None, the unit with that code that is valid latest is taken.

    Raises
    ------
    query.NotFound
        When no unit has that key.
    """
    candidates = [(uid, u) for uid, u in query.registry(conn) if u.code == code]
    if valid_from is not None:
        candidates = [(uid, u) for uid, u in candidates if u.valid_from == valid_from]
    if not candidates:
        raise query.NotFound(f"no unit with code {code!r}" + (f" valid from {valid_from!r}" if valid_from else ""))
    return max(candidates, key=lambda pair: pair[1].valid_from)


def predecessors(conn: sa.Connection, unit_id: int) -> list[tuple[int, Unit]]:
    """Units whose successor link leads directly to ``unit_id`` (the day after they ended)."""
    pairs = query.registry(conn)
    units = [u for _, u in pairs]
    target = dict(pairs)[unit_id]
    out = []
    for uid, unit in pairs:
        if uid == unit_id or not unit.valid_to or not unit.successor_code:
            continue
        after = _next_day(unit.valid_to)
        current = successor_on(units, unit, after)
        if current is not None and current.key == target.key:
            out.append((uid, unit))
    return out


def ancestors(conn: sa.Connection, unit_id: int) -> list[tuple[int, Unit]]:
    """Every unit that became (part of) ``unit_id``, through any number of mergers."""
    seen, queue, out = {unit_id}, [unit_id], []
    while queue:
        for uid, unit in predecessors(conn, queue.pop()):
            if uid not in seen:
                seen.add(uid)
                queue.append(uid)
                out.append((uid, unit))
    return out


def successor(conn: sa.Connection, unit: Unit) -> Unit | None:
    """The unit ``unit`` became the day after it ended (None when it is still valid or has none)."""
    if not unit.valid_to or not unit.successor_code:
        return None
    return successor_on([u for _, u in query.registry(conn)], unit, _next_day(unit.valid_to))


def _next_day(date: str) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()


def versions_of(conn: sa.Connection, unit_id: int) -> list[query.Version]:
    """The boundary versions the unit is drawn in, oldest first."""
    return [v for v in query.versions(conn) if any(u["id"] == unit_id for u in query.version_units(conn, v.id))]


def build_profile(conn: sa.Connection, code: str, valid_from: str | None, years: list[int],
                  lang: str = "vi", memo: dict | None = None) -> dict:
    """Everything the profile page shows, JSON-ready.

    ``memo``: a dict shared by the profiles of one job (a book of fact sheets), so each
    year's values on a layout are read once for all its communes, not once per commune.

    Returns
    -------
    dict
        ``unit``, ``predecessors``, ``ancestors``, ``successor``, ``series`` (one per
        indicator: points per year with value, status own | aggregated | ended | none,
        source and reason), ``projects``, ``sources``, ``illustrative``, ``map_year``.
    """
    unit_id, unit = find_unit(conn, code, valid_from)
    own_versions = versions_of(conn, unit_id)
    after = successor(conn, unit)
    memo = {} if memo is None else memo
    series = [_series(conn, ind, unit_id, unit, own_versions, after, years, lang, memo)
              for ind in query.catalogue(conn).values()]
    lineage = ancestors(conn, unit_id)
    projects = _projects(conn, [unit_id] + [uid for uid, _ in lineage])
    shown = [p for s in series for p in s["points"] if p["value"] is not None]
    valid_years = [y for y in years if unit.valid_on(year_end(y))]
    return {
        "unit": _unit_json(unit),
        "predecessors": [_unit_json(u) for _, u in predecessors(conn, unit_id)],
        "ancestors": [_unit_json(u) for _, u in lineage],
        "successor": _unit_json(after) if after else None,
        "years": years,
        "map_year": valid_years[-1] if valid_years else None,
        "series": series,
        "projects": projects,
        "illustrative": any(p["illustrative"] for p in shown),
        "sources": _sources(shown, projects),
    }


def _unit_json(unit: Unit) -> dict:
    return {"code": unit.code, "valid_from": unit.valid_from, "valid_to": unit.valid_to, "name": unit.name,
            "type": unit.type, "established_by": unit.established_by, "ended_by": unit.ended_by}


def _series(conn, indicator, unit_id: int, unit: Unit, own_versions: list, after: Unit | None,
            years: list[int], lang: str, memo: dict) -> dict:
    """One indicator of the unit over ``years``: own values, values built from predecessors, or none."""
    points = [_point(conn, indicator, unit, own_versions, after, year, lang, memo) for year in years]
    return {
        "id": indicator.id, "name": indicator.name(lang), "unit": indicator.unit(lang), "kind": indicator.kind,
        "decimals": indicator.decimals, "points": points,
        "has_values": any(p["value"] is not None for p in points),
        "illustrative": any(p["illustrative"] for p in points if p["value"] is not None),
    }


def _point(conn, indicator, unit: Unit, own_versions: list, after: Unit | None, year: int, lang: str,
           memo: dict) -> dict:
    date = year_end(year)
    point = {"year": year, "value": None, "value_text": classify.format_number(None, 0, lang),
             "numerator": None, "denominator": None, "status": "none", "illustrative": False,
             "source": None, "source_url": None, "members_text": "", "note": None}
    if not unit.valid_on(date) and unit.valid_to and unit.valid_to < date:
        point["status"] = "ended"
        point["note"] = text("merged_into", lang).format(name=after.name) if after else None
        return point
    try:
        target = query.version_for_year(conn, year) if unit.valid_on(date) else own_versions[0]
        key = (indicator.id, year, target.id)
        if key not in memo:  # read only here: the records are shared, never changed
            memo[key] = aggregate.values_on_version(conn, indicator.id, year, target)
        records = memo[key]
    except (query.NotFound, IndexError):
        return point
    record = next((r for r in records if (r["code"], r["valid_from"]) == unit.key), None)
    if record is None:
        return point
    point.update(
        value=record["value"], numerator=record["numerator"], denominator=record["denominator"],
        value_text=classify.format_number(record["value"], indicator.decimals, lang),
        illustrative=record["illustrative"], source=record["source"], source_url=record["source_url"],
        members_text=aggregate.members_text(record),
        status=("aggregated" if record["aggregated"] else "own") if record["value"] is not None else "none",
        note=aggregate.describe(record["no_data_reason"], lang),
    )
    return point


def _projects(conn: sa.Connection, unit_ids: list[int]) -> list[dict]:
    """Projects working in the unit or in any unit that became part of it."""
    p, pu, s, u = db.projects.c, db.project_units.c, db.sources.c, db.units.c
    rows = conn.execute(
        sa.select(p.id, p.name, p.donor, p.sector, p.years_text, p.budget, p.start_year, pu.villages,
                  u.name.label("unit_name"), s.title.label("source"), s.url.label("source_url"))
        .join(db.project_units, pu.project_id == p.id).join(db.units, u.id == pu.unit_id)
        .join(db.sources, s.id == p.source_id)
        .where(pu.unit_id.in_(unit_ids)).order_by(p.start_year, p.id)
    ).all()
    out: dict[int, dict] = {}
    for row in rows:
        entry = out.setdefault(row.id, {**{k: row._mapping[k] for k in (
            "id", "name", "donor", "sector", "years_text", "budget", "source", "source_url")}, "places": []})
        entry["places"].append({"unit": row.unit_name, "villages": row.villages})
    return list(out.values())


def _sources(points: list[dict], projects: list[dict]) -> list[dict]:
    """Distinct sources of the values and projects shown (a combined title is split into its sources)."""
    pairs = set()
    for point in points:
        titles = (point["source"] or "").split("; ")
        for title in filter(None, titles):
            pairs.add((title, (point["source_url"] or "") if len(titles) == 1 else ""))
    for project in projects:
        pairs.add((project["source"], (project["source_url"] or "").split(" ; ")[0]))
    with_url = {t for t, u in pairs if u}
    return [{"title": t, "url": u} for t, u in sorted(pairs) if u or t not in with_url]


def chart(series: dict, years: list[int], lang: str, version_starts: list[int]) -> charts.Markup:
    """The SVG chart of one profile series: own values filled, values built from predecessors hollow."""
    points = [charts.Point(p["year"], p["value"], hollow=p["status"] == "aggregated",
                           note=(text("built_from", lang) + ": " + p["members_text"]) if p["members_text"] else "")
              for p in series["points"]]
    breaks = [(y - 0.5, text("boundary_change", lang) + f" {y}") for y in version_starts if years[0] < y <= years[-1]]
    return charts.line_chart([charts.Series("", points, dashed=series["illustrative"])], years,
                             decimals=series["decimals"], lang=lang, unit=series["unit"],
                             title=f"{series['name']} ({series['unit']})", breaks=breaks)


def version_start_years(conn: sa.Connection) -> list[int]:
    """Years in which a new boundary version takes effect (2020, 2025), for chart markers."""
    return [int(v.valid_from[:4]) for v in query.versions(conn) if v.valid_from]
