"""Geometry packs on awkward input: layers that are not a clean coverage still get their levels."""
import numpy as np
import shapely

from mapapp.core.atlas import Level
from mapapp.geo import packs


def test_overlapping_units_are_simplified_one_by_one_and_outlined():
    overlapping = np.array([shapely.box(0, 0, 10_000, 10_000).buffer(500, quad_segs=16),
                            shapely.box(9_000, 0, 20_000, 10_000).buffer(500, quad_segs=16)])
    simplified = packs.simplify(overlapping, Level(7, 800))
    assert len(simplified) == 2 and all(shapely.is_valid(simplified))
    assert shapely.get_num_coordinates(simplified).sum() < shapely.get_num_coordinates(overlapping).sum()
    outline = packs.outline_of(simplified)
    assert outline.area > 0.99 * shapely.union_all(simplified).area


def test_a_pack_round_trips_within_its_grid():
    square = np.array([shapely.Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000)])])
    level = Level(99, 0.0)
    raw = packs.encode("v", 0, level, square, packs.outline_of(square), {"code": ["1"], "valid_from": [""],
                                                                           "name": ["Xã A"], "parent": [""]})
    import json

    pack = json.loads(raw)
    ring = np.cumsum(np.array(pack["geometry"][0][0][0]).reshape(-1, 2), axis=0) * pack["grid"] + pack["origin"]
    assert np.allclose(ring, [(0, 0), (1000, 0), (1000, 1000), (0, 1000)], atol=pack["grid"])
    assert pack["units"]["name"] == ["Xã A"]
