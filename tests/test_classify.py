"""Tests for mapapp.classify: breaks, classes, palettes, formatting, legend."""
import math
import re

import numpy as np
import pytest

from mapapp.present import classify as c

# ---------------------------------------------------------------- breaks

def test_quantiles_balanced_on_1_to_100():
    values = list(range(1, 101))
    bounds = c.breaks(values, "quantiles", 5)
    assert bounds == [20, 40, 60, 80, 100]
    idx = c.classify(values, bounds)
    assert [idx.count(i) for i in range(5)] == [20] * 5


def test_quantiles_deduplicated_with_heavy_ties():
    values = [0] * 80 + list(range(1, 21))
    bounds = c.breaks(values, "quantiles", 5)
    assert bounds == sorted(set(bounds))
    assert bounds[0] == 0 and bounds[-1] == 20
    assert len(bounds) < 5


def test_natural_breaks_finds_clusters():
    assert c.breaks([1, 2, 3, 50, 51, 52, 100, 101], "natural_breaks", 3) == [3, 52, 101]


def test_natural_breaks_order_and_none_do_not_matter():
    values = [101, None, 2, 52, 1, float("nan"), 50, 3, 100, 51]
    assert c.breaks(values, "natural_breaks", 3) == [3, 52, 101]


def test_natural_breaks_is_optimal_against_brute_force():
    rng = np.random.default_rng(7)
    values = sorted(rng.integers(0, 60, size=14).tolist())
    bounds = c.breaks(values, "natural_breaks", 3)

    def ssd(groups):
        return sum(((np.asarray(g) - np.mean(g)) ** 2).sum() for g in groups if g)

    def groups_for(bs):
        idx = c.classify(values, bs)
        return [[v for v, i in zip(values, idx) if i == k] for k in range(len(bs))]

    distinct = sorted(set(values))
    best = min(
        ssd(groups_for([a, b, distinct[-1]]))
        for ai, a in enumerate(distinct[:-2])
        for b in distinct[ai + 1:-1]
    )
    assert ssd(groups_for(bounds)) == pytest.approx(best)


def test_natural_breaks_large_input_completes_and_ends_at_max():
    rng = np.random.default_rng(42)
    values = rng.lognormal(mean=3.0, sigma=1.0, size=11_163).tolist()
    bounds = c.breaks(values, "natural_breaks", 7)
    assert len(bounds) == 7
    assert bounds == sorted(bounds)
    assert bounds[-1] == max(values)
    idx = c.classify(values, bounds)
    assert None not in idx
    assert all(idx.count(i) > 0 for i in range(7))


def test_natural_breaks_finds_obvious_clusters():
    values = [1, 2, 3, 10, 11, 12, 20, 21, 22, 40, 41]
    assert c.breaks(values, "natural_breaks", 4) == [3, 12, 22, 41]
    assert c.breaks([5.5, 5.6, 9.0, 9.1, 9.2, 30.0], "natural_breaks", 3) == [5.6, 9.2, 30.0]


# Jenks breaks of 5000 draws of N(0, 1) (numpy's generator, seed 1), recorded once: a change of
# the algorithm or of its tie-breaking shows here. The upper bound is the sample's maximum.
LARGE_BREAKS = [-1.2459477747358843, -0.4036663853964377, 0.3562514724097224, 1.2351303301279137, 3.931777880377655]


def test_natural_breaks_large_input_gives_the_known_breaks():
    values = np.random.default_rng(1).normal(size=5000).tolist()
    assert c.breaks(values, "natural_breaks", 5) == pytest.approx(LARGE_BREAKS, abs=1e-9)
    assert LARGE_BREAKS[-1] == max(values)


def test_equal_interval_exact():
    assert c.breaks(list(range(0, 11)), "equal_interval", 5) == [2, 4, 6, 8, 10]
    assert c.breaks([10, 20, 30, 40, 50], "equal_interval", 4) == [20, 30, 40, 50]


def test_equal_interval_last_bound_is_exact_max():
    values = [0.1, 0.2, 0.7, 0.35, 0.3]
    assert c.breaks(values, "equal_interval", 3)[-1] == 0.7


def test_no_finite_values_gives_no_breaks():
    assert c.breaks([], "quantiles", 5) == []
    assert c.breaks([None, float("nan"), math.inf], "natural_breaks", 5) == []


@pytest.mark.parametrize("method", c.METHODS)
def test_all_equal_values(method):
    assert c.breaks([4.5, 4.5, 4.5, None], method, 5) == [4.5]
    cls, idx = c.build([4.5, 4.5, None], method, 5, "Blues")
    assert idx == [0, 0, None]
    assert cls.counts == [2]
    assert len(cls.colors) == 1


@pytest.mark.parametrize("method", c.METHODS)
def test_few_distinct_values_one_class_each(method):
    assert c.breaks([1, 1, 2, 2, 3, 3, 3], method, 5) == [1, 2, 3]


@pytest.mark.parametrize("k", [0, 1, 2, 8, 100, -3])
def test_k_out_of_range_raises(k):
    with pytest.raises(ValueError, match="k must be"):
        c.breaks([1, 2, 3], "quantiles", k)


def test_unknown_method_raises():
    with pytest.raises(ValueError, match="unknown classification method"):
        c.breaks([1, 2, 3], "jenks", 5)


@pytest.mark.parametrize("method", c.METHODS)
@pytest.mark.parametrize("k", range(3, 8))
def test_breaks_are_increasing_and_bounded(method, k):
    values = np.random.default_rng(k).gamma(2.0, 10.0, size=300).tolist()
    bounds = c.breaks(values, method, k)
    assert 1 <= len(bounds) <= k
    assert all(a < b for a, b in zip(bounds, bounds[1:]))
    assert bounds[-1] == max(values)


# ---------------------------------------------------------------- classify

def test_classify_boundaries_and_no_data():
    bounds = [10, 20, 30]
    values = [5, 10, 10.0001, 20, 25, 30, None, float("nan"), 35]
    assert c.classify(values, bounds) == [0, 0, 1, 1, 2, 2, None, None, 2]


def test_classify_without_bounds_is_all_no_data():
    assert c.classify([1, None], []) == [None, None]


# ---------------------------------------------------------------- palettes

@pytest.mark.parametrize("name", sorted(c.PALETTES))
@pytest.mark.parametrize("k", range(3, 8))
def test_palettes_have_k_distinct_hex_colours(name, k):
    colors = c.palette(name, k)
    assert len(colors) == k
    assert len(set(colors)) == k
    assert all(re.fullmatch(r"#[0-9a-f]{6}", x) for x in colors)


def test_required_schemes_present():
    assert {"YlOrRd", "Blues", "Greens", "Purples", "YlGnBu", "RdBu", "BrBG"} <= set(c.PALETTES)


@pytest.mark.parametrize("name", c.SEQUENTIAL)
def test_sequential_palettes_get_darker(name):
    def lightness(hex_color):
        return sum(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))

    for k in range(3, 8):
        levels = [lightness(x) for x in c.palette(name, k)]
        assert levels == sorted(levels, reverse=True)


def test_palette_reverse_and_copy():
    colors = c.palette("Blues", 5, reverse=True)
    assert colors == c.PALETTES["Blues"][5][::-1]
    colors.append("#000000")
    assert len(c.PALETTES["Blues"][5]) == 5


def test_palette_errors():
    with pytest.raises(ValueError, match="unknown palette"):
        c.palette("Viridis", 5)
    with pytest.raises(ValueError, match="k must be"):
        c.palette("Blues", 9)


def test_default_palette():
    assert c.default_palette(False) == "YlOrRd"
    assert c.default_palette(True) == "YlGnBu"
    assert c.default_palette(None) == "Purples"


# ---------------------------------------------------------------- build

@pytest.mark.parametrize("method", c.METHODS)
def test_build_counts_sum_with_no_data(method):
    rng = np.random.default_rng(3)
    values = rng.normal(100, 30, size=500).tolist() + [None] * 7 + [float("nan")] * 3
    cls, idx = c.build(values, method, 6, "YlGnBu")
    assert sum(cls.counts) + cls.no_data_count == len(values)
    assert cls.no_data_count == 10
    assert len(idx) == len(values)
    assert len(cls.colors) == len(cls.upper_bounds) == len(cls.counts)
    assert cls.min == min(v for v in values if v is not None and not math.isnan(v))


def test_build_two_classes_spread_colours():
    cls, idx = c.build([1, 1, 9, 9, None], "quantiles", 5, "YlOrRd")
    three = c.palette("YlOrRd", 3)
    assert cls.upper_bounds == [1, 9]
    assert cls.colors == [three[0], three[2]]
    assert idx == [0, 0, 1, 1, None]


def test_build_no_data_at_all():
    cls, idx = c.build([None, None], "natural_breaks", 5, "Greens")
    assert cls.upper_bounds == [] and cls.colors == [] and cls.counts == []
    assert cls.no_data_count == 2 and cls.min is None and cls.max is None
    assert idx == [None, None]


def test_to_json_keys_and_values():
    cls, _ = c.build(list(range(1, 101)), "quantiles", 5, "Blues", reverse=True)
    data = cls.to_json()
    assert set(data) == {
        "method", "k", "breaks", "colors", "counts",
        "no_data_count", "no_data_color", "min", "max",
    }
    assert data["breaks"] == [20, 40, 60, 80, 100]
    assert data["colors"] == c.palette("Blues", 5, reverse=True)
    assert data["counts"] == [20] * 5
    assert data["no_data_color"] == c.NO_DATA_COLOR == "#d9d9d9"
    assert (data["min"], data["max"]) == (1, 100)


def test_build_rejects_bad_palette():
    with pytest.raises(ValueError):
        c.build([1, 2, 3, 4], "quantiles", 3, "Nope")


# ---------------------------------------------------------------- formatting

@pytest.mark.parametrize(
    "value, decimals, lang, expected",
    [
        (1234.5, 1, "vi", "1.234,5"),
        (1234.5, 1, "en", "1,234.5"),
        (1234567, 0, "vi", "1.234.567"),
        (1234567, 0, "en", "1,234,567"),
        (0.125, 2, "vi", "0,13"),
        (2.5, 0, "en", "3"),
        (-2.5, 0, "en", "-3"),
        (-1234.56, 1, "vi", "-1.234,6"),
        (1.005, 2, "en", "1.01"),
        (-0.001, 2, "vi", "0,00"),
        (12, 2, "vi", "12,00"),
        (None, 1, "vi", "\u2013"),
        (float("nan"), 1, "en", "\u2013"),
        (1e28, 0, "vi", "10.000.000.000.000.000.000.000.000.000"),  # more digits than Decimal's default 28
        (9999999999999998483608109057.0, 1, "en", "10,000,000,000,000,000,000,000,000,000.0"),  # as repr'd: 1e+28
        (1.5e300, 0, "en", "1,5" + "00" + ",000" * 99),
    ],
)
def test_format_number(value, decimals, lang, expected):
    assert c.format_number(value, decimals, lang) == expected


def test_format_number_bad_lang():
    with pytest.raises(ValueError):
        c.format_number(1, 0, "fr")


# ---------------------------------------------------------------- legend

def test_legend_labels_convention():
    cls, _ = c.build([1.5, 20, 40, 60, 1000.25], "quantiles", 5, "YlOrRd")
    assert c.legend_labels(cls, 1, "vi") == [
        "1,5", "> 1,5 \u2013 20,0", "> 20,0 \u2013 40,0",
        "> 40,0 \u2013 60,0", "> 60,0 \u2013 1.000,3",
    ]
    cls, _ = c.build(list(range(1, 101)), "quantiles", 5, "YlOrRd")
    labels = c.legend_labels(cls, 0, "en")
    assert labels[0] == "1 \u2013 20"
    assert labels[-1] == "> 80 \u2013 100"
    assert len(labels) == len(cls.upper_bounds)


def test_no_data_label():
    assert c.no_data_label("vi") == "Không có số liệu"
    assert c.no_data_label("en") == "No data"
