"""A common geography across mergers: a year's values on a later boundary version.

Values are stored on the units valid in their year (22 units 2016-2019, 21 units
2020-2024, 7 communes from 2025). To compare years, or to show old data on today's
communes, each unit of the data year is followed along the registry's successor
links (:func:`mapapp.units.successor_on`) to the unit it became, and the values of
the units that became one are combined by the kind of indicator:

* ``rate`` — numerators and denominators are summed and the rate recomputed
  (rates are never averaged); a member without numerator or denominator gives
  "no data" with that reason (e.g. the ethnic-minority share, which has none).
* ``count`` — summed; any member without a value gives "no data" with a reason.
  ``projects_active`` is recounted from the projects themselves, so a project
  working in two units that merged is counted once.
* ``measure`` — ``area`` is summed; ``population_density`` is recomputed from the
  summed population and summed area; any other measure cannot be aggregated.

A unit whose geography did not change (one member, itself) keeps its stored value.
"""
from __future__ import annotations

import sqlalchemy as sa

from mapapp.core.i18n import text
from mapapp.geo.units import successor_on
from mapapp.query import read as query
from mapapp.store import db
from mapapp.store.catalogue import Indicator

#: Measures that are additive over units.
ADDITIVE_MEASURES = ("area",)
#: Measures recomputed as a ratio of two additive indicators: id -> (numerator id, denominator id).
RATIO_MEASURES = {"population_density": ("population", "area")}
#: Counts recounted from the projects rather than summed.
PROJECT_COUNTS = ("projects_active",)
_OPEN_END = "9999-12-31"


def target_version(conn: sa.Connection, year: int, units_year: int | None = None) -> query.Version:
    """The boundary version a year's values are shown on.

    Parameters
    ----------
    conn : Connection
    year : int
        The data year.
    units_year : int, optional
        Draw on the units valid at the end of this year; None = the data year's units.

    Returns
    -------
    Version
        The version of ``units_year`` (or of ``year``).

    Raises
    ------
    query.NotFound
        When no version covers the year, or ``units_year``'s version starts before the
        data year's (merged units cannot be split back).
    """
    source = query.version_for_year(conn, year)
    if units_year is None:
        return source
    target = query.version_for_year(conn, units_year)
    if _start(target) < _start(source):
        raise query.NotFound(f"the units of {units_year} are older than the data of {year}: "
                             f"merged units cannot be split")
    return target


def _start(version: query.Version) -> str:
    return version.valid_from or "0000-00-00"


def reference_date(version: query.Version) -> str:
    """A date on which every unit of ``version`` is valid: its last day (or far future when open)."""
    return version.valid_to or _OPEN_END


def members(conn: sa.Connection, source: query.Version, target: query.Version) -> dict[int, list[dict]]:
    """For each unit of ``target``, the units of ``source`` that lie in it.

    Returns
    -------
    dict
        ``{target unit id: [source unit, ...]}`` (units as :func:`query.version_units`
        gives them), in the target version's order; a target unit nothing leads to
        has an empty list.
    """
    key = ("members", source.id, target.id)
    return query._memo(conn, key, lambda: _members(conn, source, target))


def _members(conn: sa.Connection, source: query.Version, target: query.Version) -> dict[int, list[dict]]:
    targets = query.version_units(conn, target.id)
    if source.id == target.id:
        return {u["id"]: [u] for u in targets}
    out: dict[int, list[dict]] = {u["id"]: [] for u in targets}
    for unit in query.version_units(conn, source.id):
        current_id = follow(conn, unit["id"], reference_date(target))
        if current_id in out:
            out[current_id].append(unit)
    return out


def follow(conn: sa.Connection, unit_id: int, date: str) -> int | None:
    """Id of the unit that ``unit_id`` is (or became) on ``date``; None when its chain ends."""
    units, by_id, id_by_key = query._memo(conn, "registry_index", lambda: _index(query.registry(conn)))
    current = successor_on(units, by_id[unit_id], date)
    return id_by_key.get(current.key) if current else None


def _index(pairs: list) -> tuple[list, dict, dict]:
    return [u for _, u in pairs], dict(pairs), {u.key: uid for uid, u in pairs}


def values_on(conn: sa.Connection, indicator_id: str, year: int,
              units_year: int | None = None) -> tuple[query.Version, list[dict]]:
    """One record per unit of ``units_year``'s version (default: the data year's) with the year's value.

    Parameters
    ----------
    conn : Connection
    indicator_id : str
    year : int
        The data year.
    units_year : int, optional
        Show the data on the units of this (later) year: values are aggregated along
        the registry's successor links.

    Returns
    -------
    version, records
        Records carry ``code, valid_from, name, value, numerator, denominator,
        source, source_url, illustrative`` (``value`` None = no data), and
        ``members`` (the data year's units the value is built from), ``aggregated``
        and ``no_data_reason`` (None, or why a value could not be built).
    """
    version = target_version(conn, year, units_year)
    return version, values_on_version(conn, indicator_id, year, version)


def values_on_version(conn: sa.Connection, indicator_id: str, year: int, target: query.Version) -> list[dict]:
    """The year's values of ``indicator_id`` on the units of ``target`` (a version not older than the year's)."""
    indicator = query.indicator(conn, indicator_id)
    source = query.version_for_year(conn, year)
    if _start(target) < _start(source):
        raise query.NotFound(f"the units of version {target.id} are older than the data of {year}: "
                             f"merged units cannot be split")
    groups = members(conn, source, target)
    inputs = _inputs(conn, indicator, year, target, any(len(m) > 1 for m in groups.values()))
    records = []
    for unit in query.version_units(conn, target.id):
        records.append(_combine(indicator, unit, groups[unit["id"]], inputs))
    return records


def _inputs(conn, indicator: Indicator, year: int, target: query.Version, merging: bool) -> dict:
    """The stored values a combination needs: the indicator's, and what it is recomputed from."""
    inputs = {"values": query.raw_values(conn, indicator.id, year)}
    if merging and indicator.id in RATIO_MEASURES:
        top, bottom = RATIO_MEASURES[indicator.id]
        inputs["ratio"] = (query.raw_values(conn, top, year), query.raw_values(conn, bottom, year))
    if merging and indicator.id in PROJECT_COUNTS:
        inputs["projects"] = project_counts(conn, year, target)
    return inputs


def project_counts(conn: sa.Connection, year: int, target: query.Version) -> dict[int, int]:
    """Projects active in ``year`` per unit of ``target``, each project counted once per unit."""
    p, pu = db.projects.c, db.project_units.c
    rows = conn.execute(
        sa.select(pu.project_id, pu.unit_id).join(db.projects, p.id == pu.project_id)
        .where(p.start_year <= year, sa.func.coalesce(p.end_year, p.start_year) >= year)
    ).all()
    date = reference_date(target)
    places: dict[int, set[int]] = {}
    for project_id, unit_id in rows:
        current = follow(conn, unit_id, date)
        if current is not None:
            places.setdefault(current, set()).add(project_id)
    return {unit_id: len(ids) for unit_id, ids in places.items()}


# --------------------------------------------------------------------------
# Combining the members of one unit
# --------------------------------------------------------------------------

def _combine(indicator: Indicator, unit: dict, group: list[dict], inputs: dict) -> dict:
    """The record of one target unit built from its members' stored values."""
    values = inputs["values"]
    rows = [values.get(m["id"]) for m in group]
    record = _empty_record(unit, group)
    if not group:
        record["no_data_reason"] = {"key": "no_predecessor", "units": []}
        return record
    if len(group) == 1:
        return _copy(record, rows[0])
    present = [r for r in rows if r is not None and r.value is not None]
    if not present and not (indicator.id in RATIO_MEASURES and _any_ratio_input(group, inputs)):
        return record  # no member has data: plain "no data"
    if indicator.kind == "rate":
        return _sum_rate(record, group, rows)
    if indicator.id in PROJECT_COUNTS:
        return _recount_projects(record, group, rows, inputs["projects"].get(unit["id"], 0))
    if indicator.kind == "count" or indicator.id in ADDITIVE_MEASURES:
        return _sum_values(record, group, rows)
    if indicator.id in RATIO_MEASURES:
        return _ratio(record, group, inputs["ratio"])
    record["no_data_reason"] = {"key": "not_aggregable", "units": []}
    return _with_sources(record, present)


def _empty_record(unit: dict, group: list[dict]) -> dict:
    return {
        "code": unit["code"], "valid_from": unit["valid_from"], "name": unit["name"],
        "value": None, "numerator": None, "denominator": None,
        "source": None, "source_url": None, "illustrative": False,
        "members": [{"code": m["code"], "valid_from": m["valid_from"], "name": m["name"]} for m in group],
        "aggregated": not (len(group) == 1 and group[0]["id"] == unit["id"]),
        "no_data_reason": None,
    }


def _copy(record: dict, row) -> dict:
    if row is None:
        return record
    record.update(value=row.value, numerator=row.numerator, denominator=row.denominator,
                  source=row.source, source_url=row.source_url, illustrative=bool(row.illustrative))
    return record


def _with_sources(record: dict, rows: list) -> dict:
    """Set the combined source (titles joined, the first URL) and the illustrative flag."""
    rows = [r for r in rows if r is not None]
    titles = sorted({r.source for r in rows if r.source})
    urls = [r.source_url for r in rows if r.source_url]
    record["source"] = "; ".join(titles) or None
    record["source_url"] = urls[0] if urls else None
    record["illustrative"] = any(bool(r.illustrative) for r in rows)
    return record


def _missing(group: list[dict], rows: list, ok) -> list[str]:
    return [m["name"] for m, r in zip(group, rows) if r is None or not ok(r)]


def _sum_rate(record: dict, group: list[dict], rows: list) -> dict:
    lacking = _missing(group, rows, lambda r: r.numerator is not None and r.denominator is not None)
    if lacking:
        record["no_data_reason"] = {"key": "missing_denominator", "units": lacking}
        return _with_sources(record, rows)
    numerator = sum(r.numerator for r in rows)
    denominator = sum(r.denominator for r in rows)
    if denominator <= 0:
        record["no_data_reason"] = {"key": "zero_denominator", "units": []}
        return _with_sources(record, rows)
    record.update(value=100.0 * numerator / denominator, numerator=numerator, denominator=denominator)
    return _with_sources(record, rows)


def _sum_values(record: dict, group: list[dict], rows: list) -> dict:
    lacking = _missing(group, rows, lambda r: r.value is not None)
    if lacking:
        record["no_data_reason"] = {"key": "missing_value", "units": lacking}
    else:
        record["value"] = sum(r.value for r in rows)
    return _with_sources(record, rows)


def _recount_projects(record: dict, group: list[dict], rows: list, count: int) -> dict:
    lacking = _missing(group, rows, lambda r: r.value is not None)
    if lacking:
        record["no_data_reason"] = {"key": "missing_value", "units": lacking}
    else:
        record["value"] = float(count)
    return _with_sources(record, rows)


def _any_ratio_input(group: list[dict], inputs: dict) -> bool:
    tops, bottoms = inputs.get("ratio", ({}, {}))
    return any(m["id"] in tops or m["id"] in bottoms for m in group)


def _ratio(record: dict, group: list[dict], ratio_inputs: tuple[dict, dict]) -> dict:
    tops, bottoms = ratio_inputs
    pairs = [(tops.get(m["id"]), bottoms.get(m["id"])) for m in group]
    lacking = [m["name"] for m, (t, b) in zip(group, pairs)
               if t is None or b is None or t.value is None or b.value is None]
    used = [r for pair in pairs for r in pair]
    if lacking:
        record["no_data_reason"] = {"key": "missing_ratio_input", "units": lacking}
        return _with_sources(record, used)
    top, bottom = sum(t.value for t, _ in pairs), sum(b.value for _, b in pairs)
    if bottom <= 0:
        record["no_data_reason"] = {"key": "zero_denominator", "units": []}
    else:
        record.update(value=top / bottom, numerator=top, denominator=bottom)
    return _with_sources(record, used)


# --------------------------------------------------------------------------
# Presentation helpers
# --------------------------------------------------------------------------

def describe(reason: dict | None, lang: str = "vi") -> str | None:
    """The sentence explaining why a value is missing, in ``lang`` (None when there is no reason)."""
    if not reason:
        return None
    units = ", ".join(reason.get("units") or [])
    return text(f"reason_{reason['key']}", lang).format(units=units)


def members_text(record: dict) -> str:
    """Names of the units an aggregated value was built from ('' when it was not aggregated)."""
    if not record.get("aggregated"):
        return ""
    return ", ".join(m["name"] for m in record.get("members", []))


def paired(conn: sa.Connection, indicator_id: str, year: int, base_year: int,
           units_year: int | None = None) -> tuple[query.Version, list[dict], list[dict]]:
    """Values of two years on one geography (the later year's units, or ``units_year``'s).

    Returns
    -------
    version, records, base_records
        Both record lists follow the version's unit order, one record per unit.
    """
    geography = units_year if units_year is not None else max(year, base_year)
    version = target_version(conn, max(year, base_year), geography)
    return (version, values_on_version(conn, indicator_id, year, version),
            values_on_version(conn, indicator_id, base_year, version))

