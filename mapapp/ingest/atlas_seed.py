"""Fill the store of a configured atlas (a province, a country) from its boundary file.

Import only: read the features of the area, check the unit key, clean the layer into
a coverage, derive its levels of detail, invent the seeded ILLUSTRATIVE poverty
series, and write everything in one transaction. Derived geometry is cached on disk
keyed by the checksum of the file and the processing, so a restart never recomputes
it; unchanged inputs write nothing.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import sqlalchemy as sa

from mapapp.core.atlas import Atlas
from mapapp.core.names import nfc
from mapapp.geo import boundaries, context, packs
from mapapp.ingest import transaction
from mapapp.ingest.seed import ILLUSTRATIVE_SOURCE, _SourceCache, _ValueWriter, store_context
from mapapp.store import catalogue, db

log = logging.getLogger(__name__)

PROCESSING_VERSION = "atlas-1"  # bump when the layer processing changes: invalidates caches
ILLUSTRATIVE_VERSION = "2"  # bump when the illustrative series changes: reseeds the values only
UNIT_TYPES = ("Thị trấn", "Phường", "Xã")
ATLAS_INDICATORS = ("poverty_rate", "area")
AREA_SOURCE = "Tính từ ranh giới ({source}) / Computed from the boundaries ({source})"


#: The atlas settings the cleaned layer depends on (not the levels of detail, years or titles).
LAYER_SETTINGS = ("boundaries", "filter", "unit_key", "name_field", "parent_fields", "version_id",
                  "gap_width_m", "simplify_m")


def layer_key(atlas: Atlas, shared_dir: Path) -> str:
    """Checksum of everything the atlas's cleaned layer depends on (its disk cache key)."""
    settings = {k: v for k, v in asdict(atlas).items() if k in LAYER_SETTINGS}
    text = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return boundaries.checksum(PROCESSING_VERSION, text, boundaries.file_digest(atlas.boundary_path(shared_dir)))


def read_layer(atlas: Atlas, shared_dir: Path):
    """The atlas's features, filtered to its area, in Web Mercator.

    Raises
    ------
    ValueError
        When the file lacks a field, the filter keeps nothing, or the unit key is
        empty or repeated (the message names the file, the field and the values).
    """
    import geopandas as gpd

    path = atlas.boundary_path(shared_dir)
    source = f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)
    frame = gpd.read_file(source)
    fields = [atlas.unit_key, atlas.name_field, *atlas.parent_fields, *atlas.filter]
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        raise ValueError(f"{path}: no field {', '.join(missing)}; fields: {', '.join(map(str, frame.columns))}")
    for name, wanted in atlas.filter.items():
        frame = frame[frame[name].map(_text) == nfc(wanted)]
    if frame.empty:
        raise ValueError(f"{path}: no feature matches the atlas filter {atlas.filter}")
    keys = frame[atlas.unit_key].map(_text)
    _check_keys(path, atlas.unit_key, keys)
    frame = frame.assign(_key=keys.values)
    if frame.crs is None:
        raise ValueError(f"{path}: the file does not say which coordinate system it uses")
    return frame.to_crs(packs.WEB_CRS).sort_values("_key").reset_index(drop=True)


def _check_keys(path: Path, field: str, keys) -> None:
    empty = int((keys == "").sum())
    repeated = sorted(keys[keys.duplicated() & (keys != "")].unique())[:10]
    if empty or repeated:
        raise ValueError(f"{path}: the unit key {field!r} must be unique and not empty"
                         f" ({empty} empty, repeated: {', '.join(repeated) or 'none'});"
                         " choose another unit_key in the atlas file")


def unit_records(atlas: Atlas, frame) -> list[dict]:
    """Code, name, type and parents of every feature (a missing name is said, not invented)."""
    records = []
    for _, row in frame.iterrows():
        name = _text(row[atlas.name_field])
        parents = [_text(row[f]) for f in atlas.parent_fields if _text(row[f])]
        records.append({
            "code": row["_key"], "valid_from": "",
            "name": name or f"(không tên / unnamed, {atlas.unit_key} {row['_key']})",
            "type": next((t for t in UNIT_TYPES if name.startswith(t + " ")), ""),
            "parent": ", ".join(parents),
        })
    return records


def _text(value) -> str:
    """A property as NFC text; missing values (None, NaN) become ''."""
    return "" if value is None or value != value else nfc(str(value))


def clean(atlas: Atlas, geoms):
    """The layer as a valid coverage with the atlas's sliver width and simplification."""
    return boundaries.clean_coverage(geoms, atlas.gap_width_m, atlas.simplify_m)


def serialise(atlas: Atlas, records: list[dict], geoms) -> dict:
    """The stored form of the layer (as :func:`mapapp.boundaries.serialise_version` makes it)."""
    import shapely

    lonlat = packs.reproject(geoms, packs.WEB_CRS, "EPSG:4326", 5)
    # Areas in an equal-area projection: Web Mercator inflates them by 1/cos²(latitude).
    areas = shapely.area(packs.reproject(geoms, packs.WEB_CRS, "EPSG:6933")) / 1e6
    labels = packs.reproject(shapely.point_on_surface(geoms), packs.WEB_CRS, "EPSG:4326", 5)
    outline = packs.reproject(shapely.simplify(shapely.coverage_union_all(geoms), 200.0),
                              packs.WEB_CRS, "EPSG:4326", 5)
    units = [
        {**rec, "area_km2": round(float(area), 3), "label": [label.x, label.y],
         "geometry": json.loads(shapely.to_geojson(geom))}
        for rec, geom, area, label in zip(records, lonlat, areas, labels)
    ]
    return {"id": atlas.version_id, "units": units, "outline": json.loads(shapely.to_geojson(outline))}


def build_layer(atlas: Atlas, shared_dir: Path, cache_dir: Path) -> tuple[str, dict, list[packs.Pack]]:
    """``(checksum, serialised layer, packs)``, from the disk cache when the inputs are unchanged."""
    key = layer_key(atlas, shared_dir)
    serialised = boundaries._read_cache(cache_dir, key)
    if serialised is not None:  # new levels of detail are derived from the cleaned layer, not the file
        return key, serialised, packs.from_serialised(atlas.version_id, serialised, atlas.levels, key, cache_dir)
    frame = read_layer(atlas, shared_dir)
    log.info("atlas %s: cleaning %d units (once; cached under %s)", atlas.id, len(frame), cache_dir)
    records = unit_records(atlas, frame)
    geoms = clean(atlas, frame.geometry.values)
    serialised = serialise(atlas, records, geoms)
    boundaries._write_cache(cache_dir, key, serialised)
    built = packs.build(atlas.version_id, packs.unit_columns(records), geoms, atlas.levels, key, cache_dir)
    return key, serialised, built


def illustrative_poverty(atlas: Atlas, units: list[dict]) -> list[dict]:
    """ILLUSTRATIVE poverty rates for every unit and year: invented, seeded, never real.

    Each parent area (the last parent field, e.g. the province) draws a level between
    2% and 40% in the first year; each unit varies around it and falls by 2-15% of
    its level a year (poverty falls faster where it is low), with noise. Households
    are drawn too, and the rate is recomputed from the whole number of poor
    households, as a real annex would give it.
    """
    import numpy as np

    rng = np.random.default_rng(atlas.seed)
    regions = sorted({u["parent"].rsplit(", ", 1)[-1] for u in units})
    region_level = dict(zip(regions, rng.uniform(2.0, 40.0, len(regions))))
    rows = []
    for unit in units:
        level = region_level[unit["parent"].rsplit(", ", 1)[-1]] * rng.uniform(0.4, 1.6)
        households = int(rng.integers(300, 4000))
        decline = rng.uniform(0.02, 0.15)
        for year in range(atlas.first_year, atlas.last_year + 1):
            trend = level * math.exp(-decline * (year - atlas.first_year))
            rate = max(0.2, trend * rng.normal(1.0, 0.08))
            poor = int(round(households * min(rate, 95.0) / 100))
            rows.append({"unit": unit, "year": year, "numerator": poor, "denominator": households,
                         "value": round(100.0 * poor / households, 2)})
    return rows


def inputs_checksum(atlas: Atlas, shared_dir: Path, geodata_dir: Path) -> str:
    """One checksum over the atlas, its boundary file and the indicator catalogue."""
    settings = json.dumps(asdict(atlas), sort_keys=True, ensure_ascii=False, default=str)
    return boundaries.checksum(layer_key(atlas, shared_dir), settings, packs.PACK_FORMAT, ILLUSTRATIVE_VERSION,
                               (Path(geodata_dir) / "indicators.csv").read_bytes(),
                               context.input_checksum(shared_dir, geodata_dir, atlas))


def seed_atlas(engine: sa.Engine, atlas: Atlas, shared_dir: Path, geodata_dir: Path, cache_dir: Path,
               force: bool = False, progress=None) -> list[str]:
    """Create the schema and load the atlas; return notes (unnamed units...).

    Runs under the store's lock (:func:`mapapp.store.db.exclusive`): servers starting together
    on an empty store seed it once. ``progress(message)`` is told each stage and its counts.

    Raises
    ------
    FileNotFoundError
        When the boundary file is missing (nothing is written).
    ValueError
        When the file does not fit the atlas description (nothing is written).
    """
    path = atlas.boundary_path(shared_dir)
    if not path.is_file():
        raise FileNotFoundError(f"missing input file: {path}")
    say = progress or (lambda message: log.info("atlas %s: %s", atlas.id, message))
    with db.exclusive(engine):
        return _seed_atlas(engine, atlas, shared_dir, geodata_dir, cache_dir, force, say)


def _seed_atlas(engine, atlas: Atlas, shared_dir: Path, geodata_dir: Path, cache_dir: Path, force: bool,
                say) -> list[str]:
    started = time.perf_counter()
    db.create_schema(engine)
    digest = inputs_checksum(atlas, shared_dir, geodata_dir)
    with engine.connect() as conn:
        if not force and db.get_meta(conn, "seed_checksum") == digest:
            say("the store is up to date (inputs unchanged)")
            return []
    cached = boundaries._read_cache(cache_dir, layer_key(atlas, shared_dir)) is not None
    say(f"building the layer of {atlas.boundaries} " + ("(from the cache)" if cached else
                                                          "(first time: cleaning, levels of detail; minutes for a country)"))
    key, serialised, built = build_layer(atlas, shared_dir, cache_dir)
    count = len(serialised["units"])
    say(f"layer ready: {count} units, {len(built)} levels of detail ({time.perf_counter() - started:.0f} s)")
    surroundings = context.load_context(shared_dir, geodata_dir, cache_dir, atlas=atlas)
    spec = boundaries.VersionSpec(atlas.version_id, atlas.valid_from, atlas.valid_to, "file", atlas.boundaries,
                                  atlas.version_label_vi, atlas.version_label_en)
    with engine.begin() as conn:  # one transaction: all or nothing
        say(f"writing {count} units and their boundaries")
        unit_ids = _store_units(conn, serialised["units"])
        boundaries.store_versions(conn, [(spec, key, serialised)], unit_ids)
        packs.store(conn, atlas.version_id, built, count)
        indicators = catalogue.read_catalogue(Path(geodata_dir) / "indicators.csv")
        catalogue.store_catalogue(conn, [i for i in indicators if i.id in ATLAS_INDICATORS])
        conn.execute(sa.delete(db.indicator_values).where(db.indicator_values.c.origin == "seed"))
        values = _ValueWriter(conn, transaction.imported_value_keys(conn))
        sources = _SourceCache(conn)
        _store_values(values, atlas, serialised["units"], unit_ids, sources)
        for lang in ("vi", "en"):
            db.set_meta(conn, f"area_name_{lang}", atlas.name(lang))
        db.set_meta(conn, "atlas_id", atlas.id)
        store_context(conn, surroundings)
        db.set_meta(conn, "seed_checksum", digest)
        db.bump_generation(conn)
        say(f"wrote {values.written} values; committing")
    say(f"done in {time.perf_counter() - started:.0f} s")
    return [f"{u['code']}: {u['name']}" for u in serialised["units"] if u["name"].startswith("(")]


def _store_units(conn: sa.Connection, units: list[dict]) -> dict[tuple[str, str], int]:
    """Insert the atlas's units (bulk) and update changed names; return ``{(code, valid_from): id}``."""
    u = db.units.c
    existing = {(r.code, r.valid_from): r for r in conn.execute(sa.select(u.id, u.code, u.valid_from, u.name,
                                                                          u.type, u.parent))}
    fresh = [dict(code=x["code"], valid_from="", name=x["name"], type=x["type"], parent=x["parent"])
             for x in units if (x["code"], "") not in existing]
    if fresh:
        conn.execute(sa.insert(db.units), fresh)
    for x in units:
        row = existing.get((x["code"], ""))
        if row is not None and (row.name, row.type, row.parent) != (x["name"], x["type"], x["parent"]):
            conn.execute(sa.update(db.units).where(u.id == row.id).values(
                name=x["name"], type=x["type"], parent=x["parent"]))
    return {(r.code, r.valid_from): r.id for r in conn.execute(sa.select(u.id, u.code, u.valid_from))}


def _store_values(values: _ValueWriter, atlas: Atlas, units: list[dict], unit_ids: dict,
                  sources: _SourceCache) -> None:
    illustrative = sources.get(ILLUSTRATIVE_SOURCE, "", "", illustrative=True)
    values.insert([
        dict(unit_id=unit_ids[(r["unit"]["code"], "")], year=r["year"], indicator_id="poverty_rate",
             value=r["value"], numerator=r["numerator"], denominator=r["denominator"],
             source_id=illustrative, illustrative=True)
        for r in illustrative_poverty(atlas, units)
    ])
    area = sources.get(AREA_SOURCE.format(source=atlas.source or atlas.boundaries), "", "")
    values.insert([
        dict(unit_id=unit_ids[(u["code"], "")], year=year, indicator_id="area", value=u["area_km2"],
             source_id=area, illustrative=False)
        for u in units for year in range(atlas.first_year, atlas.last_year + 1)
    ])
