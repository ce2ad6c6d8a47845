"""Read side of the store: the unit version of a year, and the values shown on it.

Everything the presentation layer (web map, API, exports) needs comes from here;
nothing here reads source files.
"""
from __future__ import annotations

import json
import weakref
from dataclasses import dataclass

import sqlalchemy as sa

from mapapp.geo.units import year_end
from mapapp.query.answers import cached
from mapapp.store import db
from mapapp.store.catalogue import Indicator, load_catalogue


@dataclass(frozen=True)
class Version:
    """A stored boundary version."""

    id: str
    valid_from: str
    valid_to: str
    label: str
    checksum: str
    unit_count: int
    label_en: str = ""

    def label_in(self, lang: str) -> str:
        """The version's label in ``lang`` (the Vietnamese one when no English label is stored).

        Parameters
        ----------
        lang : {"vi", "en"}

        Returns
        -------
        str
        """
        return (self.label_en or self.label) if lang == "en" else self.label


class NotFound(LookupError):
    """A requested indicator, year or version has no data; the message says which."""


# Per-connection memo: a request holds one connection, so the catalogue and the
# version list are read once per request rather than once per use.
_MEMO: "weakref.WeakKeyDictionary[sa.Connection, dict]" = weakref.WeakKeyDictionary()


def _memo(conn: sa.Connection, key, compute):
    store = _MEMO.setdefault(conn, {})
    if key not in store:
        store[key] = compute()
    return store[key]


def forget(conn: sa.Connection) -> None:
    """Drop what was memoised for ``conn`` (after it wrote data)."""
    _MEMO.pop(conn, None)


def catalogue(conn: sa.Connection) -> dict[str, Indicator]:
    """The indicator catalogue (read once per connection)."""
    return _memo(conn, "catalogue", lambda: load_catalogue(conn))


def versions(conn: sa.Connection) -> list[Version]:
    """All stored boundary versions, oldest first."""
    return _memo(conn, "versions", lambda: _read_versions(conn))


def _read_versions(conn: sa.Connection) -> list[Version]:
    bv = db.boundary_versions.c
    rows = conn.execute(sa.select(bv.id, bv.valid_from, bv.valid_to, bv.label, bv.checksum, bv.unit_count, bv.label_en)
                        .order_by(bv.valid_from))
    return [Version(*r) for r in rows]


def version_for_year(conn: sa.Connection, year: int) -> Version:
    """The boundary version in force on 31 December of ``year``."""
    date = year_end(year)
    for version in versions(conn):
        if (not version.valid_from or version.valid_from <= date) and (not version.valid_to or version.valid_to >= date):
            return version
    raise NotFound(f"no boundary version covers {date}")


def version_by_id(conn: sa.Connection, version_id: str) -> Version:
    """A stored boundary version by id."""
    for version in versions(conn):
        if version.id == version_id:
            return version
    raise NotFound(f"unknown boundary version {version_id!r}")


def units_geojson(conn: sa.Connection, version_id: str) -> str:
    """The stored GeoJSON text of a version's units (served as is)."""
    text = conn.execute(sa.select(db.boundary_versions.c.units_geojson)
                        .where(db.boundary_versions.c.id == version_id)).scalar()
    if text is None:
        raise NotFound(f"unknown boundary version {version_id!r}")
    return text


def pack_levels(conn: sa.Connection, version_id: str) -> list[dict]:
    """The levels of detail of a version's geometry packs: ``level, max_zoom, checksum, size``."""
    from mapapp.geo.packs import geometry_packs as gp

    def read():
        rows = conn.execute(sa.select(gp.c.level, gp.c.max_zoom, gp.c.checksum, sa.func.length(gp.c.body_gzip))
                            .where(gp.c.version_id == version_id).order_by(gp.c.level))
        return [{"level": r[0], "max_zoom": r[1], "checksum": r[2][:16], "gzip_bytes": r[3]} for r in rows]

    return _memo(conn, ("pack_levels", version_id), read)


def pack(conn: sa.Connection, version_id: str, level: int) -> tuple[str, bytes]:
    """``(checksum, gzip body)`` of one geometry pack."""
    from mapapp.geo.packs import geometry_packs as gp

    row = conn.execute(sa.select(gp.c.checksum, gp.c.body_gzip)
                       .where(gp.c.version_id == version_id, gp.c.level == level)).first()
    if row is None:
        raise NotFound(f"no geometry for boundary version {version_id!r} at level {level}")
    return row.checksum, row.body_gzip


def pack_names_digest(conn: sa.Connection, version_id: str) -> str:
    """Digest of the unit codes and names in a version's geometry pack ('' when there is none)."""
    from mapapp.geo.packs import geometry_packs as gp

    return conn.execute(sa.select(gp.c.names_digest)
                        .where(gp.c.version_id == version_id, gp.c.level == 0)).scalar() or ""


def area_name(conn: sa.Connection, lang: str) -> str | None:
    """The configured atlas's area name (``None`` for the district map)."""
    return _memo(conn, ("area_name", lang), lambda: db.get_meta(conn, f"area_name_{lang}"))


def version_outline(conn: sa.Connection, version_id: str) -> dict:
    """The GeoJSON outline of a version's area, without reading its units' geometry.

    The stored collection's last key is ``outline`` (see ``boundaries.units_feature_collection``);
    only that tail is read, which matters for a country of 11,163 communes.
    """
    column = db.boundary_versions.c.units_geojson
    position = sa.func.strpos if db.is_postgresql(conn) else sa.func.instr  # the same function, two names
    tail = conn.execute(sa.select(sa.func.substr(column, position(column, '"outline":') + 10))
                        .where(db.boundary_versions.c.id == version_id)).scalar()
    if tail is None:
        raise NotFound(f"unknown boundary version {version_id!r}")
    return json.loads(tail[:-1])


def version_units(conn: sa.Connection, version_id: str) -> list[dict]:
    """Units of a version with id, code, valid_from, name, type, parent, area and label point (read once per connection).

    The list is shared by the callers of one connection: do not change it.
    """
    return _memo(conn, ("version_units", version_id), lambda: _read_version_units(conn, version_id))


def _read_version_units(conn: sa.Connection, version_id: str) -> list[dict]:
    u, ub = db.units.c, db.unit_boundaries.c
    rows = conn.execute(
        sa.select(u.id, u.code, u.valid_from, u.valid_to, u.name, u.type, u.successor_code, u.parent,
                  ub.area_km2, ub.label_lon, ub.label_lat)
        .join(db.unit_boundaries, ub.unit_id == u.id)
        .where(ub.version_id == version_id).order_by(u.code)
    )
    keys = list(rows.keys())
    return [dict(zip(keys, r)) for r in rows.all()]


def registry(conn: sa.Connection) -> list:
    """The unit registry as ``(id, Unit)`` pairs (read once per connection)."""
    from mapapp.geo.units import load_units

    return _memo(conn, "registry", lambda: load_units(conn))


def indicator(conn: sa.Connection, indicator_id: str) -> Indicator:
    """One indicator of the catalogue."""
    known = catalogue(conn)
    if indicator_id not in known:
        raise NotFound(f"unknown indicator {indicator_id!r}; known: {', '.join(known)}")
    return known[indicator_id]


def raw_values(conn: sa.Connection, indicator_id: str, year: int) -> dict[int, sa.Row]:
    """The stored values of one indicator and year by unit id, with their source."""
    v, s = db.indicator_values.c, db.sources.c
    rows = conn.execute(
        sa.select(v.unit_id, v.value, v.numerator, v.denominator, v.illustrative,
                  s.title.label("source"), s.url.label("source_url"))
        .join(db.sources, s.id == v.source_id)
        .where(v.indicator_id == indicator_id, v.year == year)
    ).all()  # one fetch: row-by-row iteration costs more than the query for thousands of units
    return {r.unit_id: r for r in rows}


def indicator_years(conn: sa.Connection) -> dict[str, dict]:
    """Per indicator: the years with at least one value, and whether any/all values are illustrative.

    Read once per connection (a page asks several times: its state, its controls, its config) and,
    in an app, kept per process under the data generation: summarising a country's store takes
    a quarter of a second, which every page and ``/api/indicators`` would otherwise pay.
    """
    return _memo(conn, "indicator_years",
                 lambda: cached(conn, "indicator-years", "", lambda: _indicator_years(conn)))


def _indicator_years(conn: sa.Connection) -> dict[str, dict]:
    v = db.indicator_values.c
    rows = conn.execute(
        sa.select(v.indicator_id, v.year, sa.func.min(sa.cast(v.illustrative, sa.Integer)),
                  sa.func.max(sa.cast(v.illustrative, sa.Integer)))
        .where(v.value.is_not(None)).group_by(v.indicator_id, v.year).order_by(v.year)
    )
    summary: dict[str, dict] = {}
    for ind, year, all_ill, any_ill in rows:
        entry = summary.setdefault(ind, {"years": [], "illustrative_years": []})
        entry["years"].append(year)
        if any_ill:
            entry["illustrative_years"].append(year)
    return summary


def projects_for_year(conn: sa.Connection, year: int) -> list[dict]:
    """Projects active in ``year``, each with the units (valid that year) it works in.

    Units named by a project are followed along successor links to the unit valid
    on 31 December of ``year``. A project drawn at imported coordinates (``project_points``)
    has one site per point (``"at": "point"``); otherwise each of its units is a site at the
    unit's inner point (``"at": "commune"``).
    """
    from mapapp.geo.units import successor_on
    from mapapp.query.anchors import anchors, project_points

    p, pu, s = db.projects.c, db.project_units.c, db.sources.c
    rows = conn.execute(
        sa.select(p.id, p.name, p.donor, p.sector, p.communes_text, p.years_text, p.budget,
                  p.start_year, p.end_year, s.title.label("source"), s.url.label("source_url"))
        .join(db.sources, s.id == p.source_id)
        .where(p.start_year <= year, sa.func.coalesce(p.end_year, p.start_year) >= year)
        .order_by(p.id)
    ).all()
    if not rows:  # an atlas of a country has no projects: do not load its 11,163 units for nothing
        return []
    version = version_for_year(conn, year)
    positions = {u["id"]: u for u in version_units(conn, version.id)}
    inner = anchors(conn, version.id, version.checksum)
    points = project_points(conn)
    units = registry(conn)
    unit_by_id = dict(units)
    id_by_key = {u.key: uid for uid, u in units}
    links_by_project: dict[int, list] = {}
    for link in conn.execute(sa.select(pu.project_id, pu.unit_id, pu.villages)):
        links_by_project.setdefault(link.project_id, []).append(link)
    plain_units = [u for _, u in units]
    out = []
    for row in rows:
        sites = []
        for link in links_by_project.get(row.id, []):
            current = successor_on(plain_units, unit_by_id[link.unit_id], year_end(year))
            where = positions.get(id_by_key.get(current.key)) if current else None
            if where:
                lon, lat = inner.get((where["code"], where["valid_from"] or ""),
                                     (where["label_lon"], where["label_lat"]))
                sites.append({"code": where["code"], "name": where["name"], "villages": link.villages,
                              "lon": lon, "lat": lat, "at": "commune"})
        if points.get(row.id):
            names = ", ".join(s["name"] for s in sites)
            sites = [{"code": "", "name": p["label"] or names, "villages": "", "lon": p["lon"], "lat": p["lat"],
                      "at": "point"} for p in points[row.id]]
        out.append({**{k: row._mapping[k] for k in ("id", "name", "donor", "sector", "communes_text",
                                                     "years_text", "budget", "source", "source_url")},
                    "sites": sites})
    return out
