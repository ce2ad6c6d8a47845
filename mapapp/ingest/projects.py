"""NGO and donor projects: read the project list, link projects to units, count them per year."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from mapapp.core.names import match_key, nfc
from mapapp.geo.units import Unit, successor_on, year_end
from mapapp.store import db

_YEAR = re.compile(r"\b(19|20)\d\d\b")
_NOT_COMMUNES = ("district-level", "unknown")


@dataclass
class Project:
    """One project as read from the list, with the units it names."""

    name: str
    donor: str
    sector: str
    communes_text: str
    start_year: int | None
    end_year: int | None
    years_text: str
    budget: str
    source_url: str
    quote: str
    units: list[tuple[Unit, str]] = field(default_factory=list)  # (unit, villages)
    unmatched: list[str] = field(default_factory=list)

    def active_in(self, year: int) -> bool:
        """True when the project runs during ``year`` (unknown years: never)."""
        return self.start_year is not None and self.start_year <= year <= (self.end_year or self.start_year)


def split_communes(text: str) -> list[tuple[str, str]]:
    """Split a "communes" cell into ``(commune, villages)`` pairs.

    ``"Hướng Lộc; Lìa; Ba Tầng (also Tà Long ...)"`` → three communes; a parenthesis
    naming villages ("thôn ...") is kept as the villages of that commune, other
    remarks are dropped. District-level or unknown entries give no commune.
    """
    text = nfc(text)
    if not text or text.lower().startswith(_NOT_COMMUNES):
        return []
    pairs = []
    for part in text.split(";"):
        name, _, remark = part.partition("(")
        remark = remark.rstrip(") ").strip()
        villages = remark if remark.lower().startswith(("thôn", "bản")) else ""
        if name.strip():
            pairs.append((name.strip(), villages))
    return pairs


def parse_year(text: str) -> int | None:
    """The first four-digit year in ``text``, if it stands alone (not "after 2000")."""
    text = (text or "").strip()
    if text.isdigit() and len(text) == 4:
        return int(text)
    return None


def read_projects(path: Path, registry: list[Unit]) -> list[Project]:
    """Read ``projects.csv`` and match each named commune to the unit valid when the project starts."""
    projects = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            start, end = parse_year(row["start_year"]), parse_year(row["end_year"])
            project = Project(
                name=nfc(row["name"]), donor=nfc(row["donor"]), sector=nfc(row["sector"]),
                communes_text=nfc(row["communes"]), start_year=start, end_year=end or start,
                years_text=_years_text(row["start_year"], row["end_year"]),
                budget=nfc(row["budget_vnd_or_usd"]), source_url=row["source"].strip(), quote=nfc(row["quote"]),
            )
            _match_units(project, registry)
            projects.append(project)
    return projects


def _years_text(start: str, end: str) -> str:
    start, end = nfc(start), nfc(end)
    return start if not end or end == start else f"{start}–{end}"


def _match_units(project: Project, registry: list[Unit]) -> None:
    date = year_end(project.start_year or 2019)
    candidates = {match_key(u.name): u for u in registry if u.valid_on(date)}
    for name, villages in split_communes(project.communes_text):
        unit = candidates.get(match_key(name))
        if unit is None:
            project.unmatched.append(name)
        else:
            project.units.append((unit, villages))


def store_projects(conn: sa.Connection, projects: list[Project], unit_ids: dict, source_id_for,
                   keep_ids: set[int] = frozenset()) -> None:
    """Replace the stored projects with ``projects``, keeping those with ids in ``keep_ids``.

    ``source_id_for(url, quote)`` gives source ids; ``keep_ids`` are projects added by imports.
    """
    conn.execute(sa.delete(db.project_units).where(db.project_units.c.project_id.not_in(keep_ids)))
    conn.execute(sa.delete(db.projects).where(db.projects.c.id.not_in(keep_ids)))
    for p in projects:
        pid = conn.execute(sa.insert(db.projects).values(
            name=p.name, donor=p.donor, sector=p.sector, communes_text=p.communes_text,
            start_year=p.start_year, end_year=p.end_year, years_text=p.years_text, budget=p.budget,
            source_id=source_id_for(p.source_url, p.quote),
        )).inserted_primary_key[0]
        for unit, villages in p.units:
            conn.execute(sa.insert(db.project_units).values(project_id=pid, unit_id=unit_ids[unit.key], villages=villages))


def active_counts(projects: list[Project], registry: list[Unit], year: int) -> dict[tuple[str, str], int]:
    """Number of projects active in ``year`` per unit valid that year (units followed to their successor)."""
    date = year_end(year)
    counts = {u.key: 0 for u in registry if u.valid_on(date)}
    for project in projects:
        if not project.active_in(year):
            continue
        touched = {successor_on(registry, unit, date) for unit, _ in project.units}
        for unit in touched - {None}:
            counts[unit.key] += 1
    return counts
