"""ILLUSTRATIVE commune series: invented poverty and culture figures, seeded.

There are no real commune-level series of poverty, near-poverty, cultural families
("gia đình văn hóa") or cultural villages ("thôn/bản văn hóa") for Hướng Hóa. This
module invents plausible ones so the map can be demonstrated; they must always be
shown as *minh họa / illustrative*, never as official figures.

Method
------
1. A latent series of integer counts is drawn for every year of :data:`YEARS` on the
   base units (those valid on 2019-12-31, 22 for Hướng Hóa), with
   ``numpy.random.default_rng(seed)``. Magnitudes loosely follow the district's report
   on Đề án 161 (2016-2020): district poverty about 30-35% in 2016 and falling,
   about 86% cultural families and nearly all villages recognised by 2020.
2. For each year the base counts are summed along the registry's successor links onto
   the units valid on 31 December of that year (22 units 2016-2019, 21 units
   2020-2024, 7 communes in 2025). Rates are recomputed from the sums, never averaged.
"""
from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from mapapp.geo.units import Unit, read_registry, successor_on, valid_on, year_end

SEED = 161
YEARS = range(2016, 2026)
BASE_DATE = "2019-12-31"
PERSONS_PER_HOUSEHOLD = 4.6
COLUMNS = ["code", "valid_from", "name", "year", "indicator", "value", "numerator", "denominator"]

#: indicator id -> (numerator count, denominator count)
INDICATORS = {
    "poverty_rate": ("poor", "households"),
    "near_poverty_rate": ("near_poor", "households"),
    "cultural_families_rate": ("cultural_families", "households"),
    "cultural_villages_rate": ("cultural_villages", "villages"),
}

#: Lowland communes along Highway 9 with many Kinh households (a moderate poverty
#: level is drawn for them); towns ("Thị trấn") get a low level, all other units a
#: high one (remote Vân Kiều / Pa Cô communes). An illustrative choice, not data.
_MID_CODES = frozenset({"19450", "19453", "19456", "19459", "19462", "19465"})
_POVERTY_2016 = {"town": (3.0, 8.0), "mid": (15.0, 28.0), "remote": (40.0, 60.0)}

#: Lìa (19489, 2020-2025) covers A Túc (19489) + A Xing (19486); its 2022 population
#: is split half and half between them for the population hint.
_LIA_SPLIT = ("19489", ("19489", "19486"))

_REPO = Path(__file__).resolve().parents[2]
_SHARED = _REPO.parent / "shared"


def generate(
    registry: list[Unit], seed: int = SEED, population_hint: dict[str, float] | None = None
) -> list[dict]:
    """Generate the illustrative series on the units valid at the end of each year.

    Parameters
    ----------
    registry : list of Unit
        The unit registry (see :func:`mapapp.units.read_registry`).
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the same seed gives the same rows.
    population_hint : dict of str to float, optional
        Population per base-unit code; households start near ``population / 4.6``.
        Units without a hint get 500-3000 households.

    Returns
    -------
    list of dict
        Rows with keys ``code, valid_from, name, year, indicator, value, numerator,
        denominator``; counts are ints, ``value`` is ``100 * numerator / denominator``
        rounded to 2 decimals.
    """
    latent = latent_counts(registry, seed, population_hint)
    rows = []
    for year in YEARS:
        for unit, counts in aggregate(registry, latent, year):
            rows.extend(_rows_for(unit, year, counts))
    return rows


def base_units(registry: list[Unit]) -> list[Unit]:
    """The units on which the latent series is drawn: valid on 2019-12-31, by key."""
    return sorted(valid_on(registry, BASE_DATE), key=lambda u: u.key)


def latent_counts(
    registry: list[Unit], seed: int = SEED, population_hint: dict[str, float] | None = None
) -> dict[tuple[str, str], dict[int, dict[str, int]]]:
    """Draw the latent integer counts of every base unit for every year.

    Parameters
    ----------
    registry : list of Unit
        The unit registry.
    seed : int, optional
        Seed of ``numpy.random.default_rng``.
    population_hint : dict of str to float, optional
        Population per base-unit code (see :func:`generate`).

    Returns
    -------
    dict
        ``{unit key: {year: {count name: int}}}`` with the count names
        ``households, poor, near_poor, cultural_families, villages, cultural_villages``.
    """
    rng = np.random.default_rng(seed)
    hint = population_hint or {}
    return {u.key: _draw_unit(rng, u, hint.get(u.code)) for u in base_units(registry)}


def aggregate(
    registry: list[Unit], latent: dict[tuple[str, str], dict[int, dict[str, int]]], year: int
) -> list[tuple[Unit, dict[str, int]]]:
    """Sum the latent counts of ``year`` onto the units valid on its 31 December.

    Parameters
    ----------
    registry : list of Unit
        The unit registry.
    latent : dict
        Output of :func:`latent_counts`.
    year : int
        The year; its map uses the units valid on ``YYYY-12-31``.

    Returns
    -------
    list of (Unit, dict)
        Each target unit that has predecessors, with its summed counts, by key.

    Raises
    ------
    ValueError
        If a base unit has no successor on that date (its counts would be lost).
    """
    date = year_end(year)
    by_key = {u.key: u for u in registry}
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, series in latent.items():
        target = successor_on(registry, by_key[key], date)
        if target is None:
            raise ValueError(f"unit {key} has no successor on {date}")
        for name, count in series[year].items():
            sums[target.key][name] += count
    return [(by_key[k], dict(sums[k])) for k in sorted(sums)]


def _rows_for(unit: Unit, year: int, counts: dict[str, int]) -> list[dict]:
    """The four indicator rows of one unit and year."""
    rows = []
    for indicator, (num_name, den_name) in INDICATORS.items():
        num, den = counts[num_name], counts[den_name]
        rows.append(dict(
            code=unit.code, valid_from=unit.valid_from, name=unit.name, year=year,
            indicator=indicator, value=round(100 * num / den, 2), numerator=num, denominator=den,
        ))
    return rows


def _tier(unit: Unit) -> str:
    """Poverty tier of a base unit: ``town``, ``mid`` or ``remote``."""
    if unit.type.casefold() == "thị trấn":
        return "town"
    return "mid" if unit.code in _MID_CODES else "remote"


def _draw_unit(rng: np.random.Generator, unit: Unit, population: float | None) -> dict:
    """Draw the counts of one base unit for every year of :data:`YEARS`."""
    households = _draw_households(rng, population)
    poverty = _draw_poverty(rng, _tier(unit))
    near = np.clip(rng.uniform(8.0, 20.0) * rng.lognormal(0.0, 0.08, len(YEARS)), 5.0, 22.0)
    families = _draw_cultural_families(rng)
    villages = int(np.clip(round(2 + households[0] / 130 + rng.normal(0, 1.5)), 4, 15))
    recognised = _draw_recognised_villages(rng, villages)
    series = {}
    for i, year in enumerate(YEARS):
        h = int(households[i])
        poor = min(round(h * poverty[i] / 100), h)
        series[year] = dict(
            households=h, poor=poor, near_poor=min(round(h * near[i] / 100), h - poor),
            cultural_families=min(round(h * families[i] / 100), h),
            villages=villages, cultural_villages=int(recognised[i]),
        )
    return series


def _draw_households(rng: np.random.Generator, population: float | None) -> np.ndarray:
    """Households per year, growing 1-2% a year (anchored on 2022 when hinted)."""
    growth = rng.uniform(0.01, 0.02)
    if population:
        anchor, anchor_year = population / PERSONS_PER_HOUSEHOLD * rng.uniform(0.93, 1.07), 2022
    else:
        anchor, anchor_year = rng.uniform(500, 3000), YEARS[0]
    steps = np.arange(YEARS[0], YEARS[-1] + 1) - anchor_year
    return np.maximum(np.round(anchor * (1 + growth) ** steps), 1).astype(int)


def _draw_poverty(rng: np.random.Generator, tier: str) -> np.ndarray:
    """Poverty rate (%) per year: a tier level in 2016, declining 8-15% a year, noisy."""
    start = rng.uniform(*_POVERTY_2016[tier])
    decline = rng.uniform(0.08, 0.15)
    steps = np.arange(len(YEARS))
    noise = rng.lognormal(0.0, 0.06, len(YEARS))
    return np.clip(start * np.exp(-decline * steps) * noise, 0.5, 70.0)


def _draw_cultural_families(rng: np.random.Generator) -> np.ndarray:
    """Share (%) of families recognised as cultural: about 60% in 2016 to 90% in 2025."""
    start, end = rng.uniform(55.0, 68.0), rng.uniform(86.0, 94.0)
    steps = np.arange(len(YEARS))
    shape = (1 - np.exp(-0.35 * steps)) / (1 - math.exp(-0.35 * steps[-1]))
    path = start + (end - start) * shape + rng.normal(0.0, 1.0, len(YEARS))
    return np.clip(np.maximum.accumulate(path), 0.0, 100.0)


def _draw_recognised_villages(rng: np.random.Generator, villages: int) -> np.ndarray:
    """Recognised villages per year: non-decreasing, from about 50-85% to (nearly) all."""
    current = int(np.floor(villages * rng.uniform(0.5, 0.85)))
    counts = []
    for _ in YEARS:
        counts.append(current)
        current += int(rng.binomial(villages - current, 0.35))
    return np.array(counts)


def write_csv(rows: list[dict], path: Path) -> None:
    """Write rows as plain UTF-8 CSV, sorted by ``(indicator, year, code)``.

    Parameters
    ----------
    rows : list of dict
        Rows as returned by :func:`generate`.
    path : path-like
        Output file; its folder must exist.
    """
    ordered = sorted(rows, key=lambda r: (r["indicator"], r["year"], r["code"], r["valid_from"]))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in ordered:
            writer.writerow([
                r["code"], r["valid_from"], r["name"], r["year"], r["indicator"],
                f"{r['value']:.2f}", int(r["numerator"]), int(r["denominator"]),
            ])


def read_csv(path: Path) -> list[dict]:
    """Read a file written by :func:`write_csv`.

    Parameters
    ----------
    path : path-like
        The CSV file.

    Returns
    -------
    list of dict
        Rows with ``year`` as int and ``value``, ``numerator``, ``denominator`` as float;
        ``code``, ``valid_from``, ``name`` and ``indicator`` stay strings.
    """
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [
            dict(row, year=int(row["year"]), value=float(row["value"]),
                 numerator=float(row["numerator"]), denominator=float(row["denominator"]))
            for row in csv.DictReader(fh)
        ]


def population_hint_from(commune_facts_path: Path) -> dict[str, float]:
    """Population per base-unit code from the real 2022 figures of ``commune-facts.csv``.

    Uses the rows with ``indicator == population_total`` and ``year == 2022`` (21 units).
    Lìa's 2022 figure (code 19489) is split half and half between its predecessors
    A Túc (19489) and A Xing (19486), so the hint covers the 22 base units.

    Parameters
    ----------
    commune_facts_path : path-like
        The shared ``data/commune-facts.csv``.

    Returns
    -------
    dict of str to float
        ``{code: persons}``.
    """
    hint = {}
    with open(commune_facts_path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["indicator"] == "population_total" and row["year"].strip() == "2022":
                hint[row["code"].strip()] = float(row["value"])
    merged, parts = _LIA_SPLIT
    if merged in hint:
        total = hint.pop(merged)
        hint.update({code: total / len(parts) for code in parts})
    return hint


def _parser() -> argparse.ArgumentParser:
    """The command-line interface of :func:`main`."""
    parser = argparse.ArgumentParser(
        prog="python -m mapapp.illustrative",
        description=(
            "Generate ILLUSTRATIVE (invented, minh họa) commune-level series of poverty, "
            "near-poverty, cultural families and cultural villages for 2016-2025. These are "
            "NOT official figures: no real commune series exist. Drawn with a fixed seed on "
            "the 22 units of 2019, then summed onto each year's units (22/21/7)."
        ),
    )
    parser.add_argument("--registry", type=Path, default=_SHARED / "geodata" / "admin-units.csv",
                        help="unit registry admin-units.csv (default: ../shared/geodata/admin-units.csv)")
    parser.add_argument("--facts", type=Path, default=_SHARED / "data" / "commune-facts.csv",
                        help="commune-facts.csv, for the real 2022 population used to size households")
    parser.add_argument("--out", type=Path, default=_REPO / "geodata" / "illustrative-series.csv",
                        help="output CSV (default: geodata/illustrative-series.csv)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default: {SEED})")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write the illustrative series CSV; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``); see ``--help``.
    """
    args = _parser().parse_args(argv)
    hint = population_hint_from(args.facts) if args.facts else None
    rows = generate(read_registry(args.registry), args.seed, hint)
    write_csv(rows, args.out)
    print(f"wrote {len(rows)} ILLUSTRATIVE rows (seed {args.seed}) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
