"""Real commune figures of ../shared/data (commune-facts.csv, the 2025 boundary facts), matched to the units valid in their year."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mapapp.core.names import nfc
from mapapp.geo.units import Unit, year_end

# Indicator names used in ../shared/data/commune-facts.csv → our catalogue ids.
SHARED_INDICATORS = {
    "population_total": "population",
    "area": "area",
    "population_density": "population_density",
    "households_total": "households",
    "ethnic_minority_share": "ethnic_minority_share",
}


@dataclass
class RealValue:
    """A figure read from a source file, before it is matched to a stored unit."""

    unit: Unit
    year: int
    indicator: str
    value: float
    source_title: str
    source_url: str
    quote: str


def read_commune_facts(path: Path, registry: list[Unit]) -> tuple[list[RealValue], list[str]]:
    """Real dated figures of ``commune-facts.csv`` that fall on a unit valid in their year.

    Returns
    -------
    values, skipped
        The usable figures, and one line per row left out with the reason (undated,
        non-numeric, or no unit with that code valid at the end of that year).
    """
    values, skipped = [], []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            indicator = SHARED_INDICATORS.get(row["indicator"])
            if indicator is None:
                continue
            reason, unit = _locate(row, registry)
            number = _number(row["value"])
            if reason is None and number is None:
                reason = f"value {row['value']!r} is not a number"
            if reason:
                skipped.append(f"{path.name} row {lineno} ({nfc(row['name'])}, {row['indicator']}): {reason}")
                continue
            values.append(RealValue(unit, int(row["year"]), indicator, number,
                                    _source_title(row["source"]), row["source"].strip(), nfc(row["quote"])))
    return values, skipped


def _locate(row: dict, registry: list[Unit]) -> tuple[str | None, Unit | None]:
    if not row["year"].strip():
        return "undated in the source", None
    date = year_end(int(row["year"]))
    unit = next((u for u in registry if u.code == row["code"].strip() and u.valid_on(date)), None)
    if unit is None:
        return f"no unit with code {row['code']!r} is valid on {date}", None
    return None, unit


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _source_title(url: str) -> str:
    host = url.split("//", 1)[-1].split("/", 1)[0]
    return host or "commune-facts.csv"


def read_2025_boundary_facts(path: Path, registry: list[Unit]) -> list[RealValue]:
    """Population and area of the 7 communes of 2025, carried in the 2025 boundary file.

    PROVENANCE.md gives their origin: sapnhap.bando.com.vn (the national merger map).
    """
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    units = {u.code: u for u in registry if u.valid_on(year_end(2025))}
    out = []
    for feature in data["features"]:
        props = feature["properties"]
        unit = units.get(str(props.get("code")))
        if unit is None:
            continue
        for field, indicator in (("population", "population"), ("area_km2", "area")):
            if props.get(field) is not None:
                out.append(RealValue(unit, 2025, indicator, float(props[field]),
                                     "sapnhap.bando.com.vn", "https://sapnhap.bando.com.vn",
                                     f"{props.get('name')}: {field} = {props[field]} (huong-hoa-communes-2025.geojson)"))
    return out
