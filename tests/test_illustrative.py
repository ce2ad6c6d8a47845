"""Tests of the seeded ILLUSTRATIVE commune series (mapapp.illustrative)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mapapp.geo.units import read_registry
from mapapp.ingest import illustrative as il

REPO = Path(__file__).parents[1]
SHARED = REPO.parent / "shared"
REGISTRY = SHARED / "geodata" / "admin-units.csv"
FACTS = SHARED / "data" / "commune-facts.csv"
COMMITTED = REPO / "geodata" / "illustrative-series.csv"

if not SHARED.is_dir():
    pytest.skip("../shared is absent", allow_module_level=True)

# Written out from PROVENANCE.md, independently of the registry's successor links:
# base code (unit of 2016-2019) -> code of the unit it belongs to.
TO_2020 = {"19486": "19489"}  # A Xing -> Lìa (A Túc keeps 19489)
TO_2025 = {
    "19429": "19429", "19450": "19429", "19453": "19429", "19468": "19429",  # Khe Sanh
    "19432": "19432", "19456": "19432", "19459": "19432",  # Lao Bảo
    "19435": "19435", "19438": "19435",  # Hướng Lập
    "19441": "19441", "19444": "19441", "19447": "19441",  # Hướng Phùng
    "19462": "19462", "19465": "19462", "19474": "19462",  # Tân Lập
    "19483": "19483", "19477": "19483", "19492": "19483",  # A Dơi
    "19489": "19489", "19486": "19489", "19471": "19489", "19480": "19489",  # Lìa
}


@pytest.fixture(scope="module")
def registry():
    return read_registry(REGISTRY)


@pytest.fixture(scope="module")
def hint():
    return il.population_hint_from(FACTS)


@pytest.fixture(scope="module")
def rows(registry, hint):
    return il.generate(registry, il.SEED, hint)


@pytest.fixture(scope="module")
def committed():
    return il.read_csv(COMMITTED)


def _target_code(base_code: str, year: int) -> str:
    if year >= 2025:
        return TO_2025[base_code]
    if year >= 2020:
        return TO_2020.get(base_code, base_code)
    return base_code


def test_regenerating_reproduces_the_committed_csv_byte_for_byte(tmp_path):
    out = tmp_path / "series.csv"
    assert il.main(["--registry", str(REGISTRY), "--facts", str(FACTS), "--out", str(out)]) == 0
    assert out.read_bytes() == COMMITTED.read_bytes()


def test_csv_header_and_number_format():
    lines = COMMITTED.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "code,valid_from,name,year,indicator,value,numerator,denominator"
    assert len(lines) == 801
    code, valid_from, name, year, indicator, value, num, den = lines[1].split(",")
    assert len(value.split(".")[1]) == 2 and num.isdigit() and den.isdigit()


def test_committed_csv_is_sorted_by_indicator_year_code(committed):
    keys = [(r["indicator"], r["year"], r["code"]) for r in committed]
    assert keys == sorted(keys)


def test_rows_per_year_and_indicator(committed):
    counts = Counter((r["indicator"], r["year"]) for r in committed)
    expected = {y: 22 if y < 2020 else 21 if y < 2025 else 7 for y in il.YEARS}
    for indicator in il.INDICATORS:
        assert {y: counts[(indicator, y)] for y in il.YEARS} == expected
    assert set(r["indicator"] for r in committed) == set(il.INDICATORS)


def test_units_are_those_valid_at_year_end(committed):
    keys_2020 = {(r["code"], r["valid_from"]) for r in committed if r["year"] == 2020}
    keys_2025 = {(r["code"], r["valid_from"]) for r in committed if r["year"] == 2025}
    assert ("19489", "2020-01-01") in keys_2020 and ("19486", "") not in keys_2020
    assert keys_2025 == {(c, "2025-07-01") for c in set(TO_2025.values())}


def test_rates_counts_and_rounding(committed):
    for r in committed:
        assert 0 <= r["numerator"] <= r["denominator"] and r["denominator"] > 0
        assert 0.0 <= r["value"] <= 100.0
        assert r["value"] == round(100 * r["numerator"] / r["denominator"], 2)


def test_aggregation_sums_base_counts_exactly(registry, hint, rows):
    latent = il.latent_counts(registry, il.SEED, hint)
    assert len(latent) == 22 and all(vf == "" for _, vf in latent)
    for year in il.YEARS:
        expected = Counter()
        for (code, _), series in latent.items():
            for indicator, (num, den) in il.INDICATORS.items():
                target = _target_code(code, year)
                expected[(target, indicator, "n")] += series[year][num]
                expected[(target, indicator, "d")] += series[year][den]
        for r in (r for r in rows if r["year"] == year):
            assert r["numerator"] == expected[(r["code"], r["indicator"], "n")], r
            assert r["denominator"] == expected[(r["code"], r["indicator"], "d")], r


def test_latent_series_is_plausible(registry, hint):
    latent = il.latent_counts(registry, il.SEED, hint)
    for series in latent.values():
        years = list(il.YEARS)
        recognised = [series[y]["cultural_villages"] for y in years]
        assert recognised == sorted(recognised)
        assert 4 <= series[years[0]]["villages"] <= 15
        assert all(series[y]["poor"] + series[y]["near_poor"] <= series[y]["households"] for y in years)
        assert series[years[-1]]["households"] > series[years[0]]["households"]


def test_towns_poor_less_than_remote_communes_in_2016(committed):
    poverty = {r["code"]: r["value"] for r in committed
               if r["indicator"] == "poverty_rate" and r["year"] == 2016}
    assert poverty["19429"] < 10 and poverty["19432"] < 10  # Khe Sanh, Lao Bảo
    assert poverty["19492"] > 30 and poverty["19447"] > 30  # Xy, Hướng Linh


def test_same_seed_same_rows_other_seed_other_values(registry, hint, rows):
    assert il.generate(registry, il.SEED, hint) == rows
    other = il.generate(registry, il.SEED + 1, hint)
    assert [r["value"] for r in other] != [r["value"] for r in rows]


def test_generate_without_population_hint(registry):
    households = [r["denominator"] for r in il.generate(registry, 7)
                  if r["indicator"] == "poverty_rate" and r["year"] == 2016]
    assert len(households) == 22 and all(500 <= h <= 3000 for h in households)


def test_population_hint_splits_lia_between_a_tuc_and_a_xing(hint):
    assert len(hint) == 22
    assert hint["19489"] + hint["19486"] == 5260
    assert hint["19429"] == 12986


def test_read_csv_types(committed):
    r = committed[0]
    assert isinstance(r["year"], int) and isinstance(r["code"], str)
    assert all(isinstance(r[k], float) for k in ("value", "numerator", "denominator"))


def test_help_says_illustrative(capsys):
    with pytest.raises(SystemExit):
        il.main(["--help"])
    assert "ILLUSTRATIVE" in capsys.readouterr().out
