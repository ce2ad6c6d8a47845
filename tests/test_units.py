"""Units over time and boundary versions, from the real registry and boundary files."""
from __future__ import annotations


import pytest
import shapely
from conftest import SHARED_DIR, needs_shared
from shapely.geometry import shape

from mapapp.geo import boundaries, units
from mapapp.geo.units import year_end

pytestmark = needs_shared


@pytest.fixture(scope="module")
def registry():
    return units.read_registry(SHARED_DIR / "geodata" / "admin-units.csv")


@pytest.mark.parametrize("year, count", [(2016, 22), (2018, 22), (2019, 22), (2020, 21), (2021, 21), (2024, 21), (2025, 7)])
def test_units_valid_at_year_end(registry, year, count):
    assert len(units.valid_on(registry, year_end(year))) == count


def test_codes_are_reused_so_units_are_keyed_on_code_and_valid_from(registry):
    named_19489 = [u for u in registry if u.code == "19489"]
    assert [u.name for u in named_19489] == ["Xã A Túc", "Xã Lìa", "Xã Lìa"]
    assert len({u.key for u in named_19489}) == 3


def test_successor_chain_follows_both_mergers(registry):
    a_xing = next(u for u in registry if u.name == "Xã A Xing")
    assert units.successor_on(registry, a_xing, "2021-12-31").key == ("19489", "2020-01-01")
    assert units.successor_on(registry, a_xing, "2025-12-31").key == ("19489", "2025-07-01")
    tan_hop = next(u for u in registry if u.name == "Xã Tân Hợp")
    assert units.successor_on(registry, tan_hop, "2025-12-31").name == "Xã Khe Sanh"
    assert units.successor_on(registry, tan_hop, "2021-12-31") is tan_hop



@pytest.mark.parametrize("year, count", [(2018, 22), (2021, 21), (2025, 7)])
def test_api_units_per_year(client, year, count):
    collection = client.get(f"/api/units?year={year}").get_json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == count
    assert {"code", "name", "type"} <= set(collection["features"][0]["properties"])


def test_lia_2021_is_the_union_of_a_tuc_and_a_xing(client):
    old = {f["properties"]["code"]: shape(f["geometry"]) for f in client.get("/api/units?year=2019").get_json()["features"]}
    new = {f["properties"]["code"]: shape(f["geometry"]) for f in client.get("/api/units?year=2021").get_json()["features"]}
    union = shapely.union_all([old["19489"], old["19486"]])
    assert new["19489"].symmetric_difference(union).area / union.area < 1e-4
    for code in set(new) - {"19489"}:  # every other unit is unchanged
        assert new[code].symmetric_difference(old[code]).area / old[code].area < 1e-6


def test_2025_communes_agree_with_the_union_of_their_predecessors(client, registry):
    old = client.get("/api/units?year=2024").get_json()["features"]
    new = {f["properties"]["code"]: shape(f["geometry"]) for f in client.get("/api/units?year=2025").get_json()["features"]}
    by_key = {u.key: u for u in registry}
    groups = {}
    for feature in old:
        unit = by_key[(feature["properties"]["code"], feature["properties"]["valid_from"])]
        target = units.successor_on(registry, unit, "2025-12-31")
        groups.setdefault(target.code, []).append(shape(feature["geometry"]))
    assert set(groups) == set(new)
    for code, parts in groups.items():
        union = shapely.union_all(parts)
        iou = new[code].intersection(union).area / new[code].union(union).area
        assert iou > 0.9, f"{code}: IoU {iou:.3f}"


@pytest.mark.parametrize("year", [2018, 2021, 2025])
def test_served_boundaries_form_a_clean_coverage(client, year):
    geoms = [shape(f["geometry"]) for f in client.get(f"/api/units?year={year}").get_json()["features"]]
    assert all(g.is_valid for g in geoms)
    overlap = sum(a.intersection(b).area for i, a in enumerate(geoms) for b in geoms[i + 1:])
    total = sum(g.area for g in geoms)
    assert overlap / total < 1e-6, "units overlap"
    union = shapely.union_all(geoms)
    holes = sum(shapely.Polygon(r).area for p in getattr(union, "geoms", [union]) for r in p.interiors)
    assert holes / total < 1e-6, "slivers between units were not closed"


def test_raw_2008_file_is_not_a_coverage_but_the_cleaned_one_is():
    import geopandas as gpd

    raw = gpd.read_file(SHARED_DIR / "geodata" / "huong-hoa-communes-2008.geojson").to_crs(boundaries.PROJECTED_CRS)
    assert not shapely.coverage_is_valid(raw.geometry.values)
    cleaned = boundaries.clean_coverage(raw.geometry.values)
    assert shapely.coverage_is_valid(cleaned)
    area_km2 = shapely.union_all(cleaned).area / 1e6
    assert 1140 < area_km2 < 1160  # official district area: 1,150-1,152 km²


def test_boundary_cache_is_keyed_by_source_checksum(tmp_path, registry):
    from conftest import REPO_ROOT

    registry_path = SHARED_DIR / "geodata" / "admin-units.csv"
    first = boundaries.load_versions(SHARED_DIR, REPO_ROOT / "geodata", registry_path, registry, tmp_path)
    cached = sorted(p.name for p in tmp_path.glob("boundaries-*.json"))
    assert len(cached) == 3
    assert {f"boundaries-{digest}.json" for _, digest, _ in first} == set(cached)
    again = boundaries.load_versions(SHARED_DIR, REPO_ROOT / "geodata", registry_path, registry, tmp_path)
    assert [d for _, d, _ in again] == [d for _, d, _ in first]
