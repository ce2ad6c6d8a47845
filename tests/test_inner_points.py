"""Inner points lie inside their unit, also for shapes whose centroid does not."""
from shapely.geometry import MultiPolygon, Point, Polygon

from mapapp.geo.inner_points import inner_point, inner_points


def test_a_crescent_gets_a_point_inside_although_its_centroid_is_outside():
    outer = Point(106.7, 16.6).buffer(0.1)
    crescent = outer.difference(Point(106.73, 16.6).buffer(0.09))
    assert not crescent.contains(crescent.centroid)
    lon, lat = inner_point(crescent)
    assert crescent.contains(Point(lon, lat))


def test_the_largest_part_of_a_multipolygon_holds_the_point():
    big = Polygon([(106.0, 16.0), (106.2, 16.0), (106.2, 16.2), (106.0, 16.2)])
    small = Polygon([(107.0, 16.0), (107.01, 16.0), (107.01, 16.01), (107.0, 16.01)])
    lon, lat = inner_point(MultiPolygon([small, big]))
    assert big.contains(Point(lon, lat))
    assert abs(lon - 106.1) < 0.01 and abs(lat - 16.1) < 0.01  # a square's pole is its centre


def test_missing_geometries_are_left_out():
    assert inner_point(None) is None
    assert inner_points({"a": None, "b": Point(1, 1).buffer(0.1)}).keys() == {"b"}
