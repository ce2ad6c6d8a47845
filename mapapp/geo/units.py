"""Administrative units over time: the registry of communes and their validity.

A unit is keyed on ``(code, valid_from)``: GSO codes are reused (19489 was A Túc,
then Lìa 2020-2025, then the new Lìa of 2025). ``''`` in ``valid_from`` means the
unit existed before the registry starts; ``''`` in ``valid_to`` means still valid.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from mapapp.core.names import nfc
from mapapp.store import db


@dataclass(frozen=True)
class Unit:
    """One row of the unit registry."""

    code: str
    valid_from: str
    valid_to: str
    name: str
    type: str
    successor_code: str = ""
    established_by: str = ""
    ended_by: str = ""
    parent: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """The unit's identity: ``(code, valid_from)``."""
        return (self.code, self.valid_from)

    def valid_on(self, date: str) -> bool:
        """True when the unit exists on ``date`` (ISO ``YYYY-MM-DD``)."""
        return (not self.valid_from or self.valid_from <= date) and (
            not self.valid_to or self.valid_to >= date
        )


def year_end(year: int) -> str:
    """The reference date of a year's map: units valid on 31 December."""
    return f"{year:04d}-12-31"


def read_registry(path: Path) -> list[Unit]:
    """Read ``admin-units.csv`` into :class:`Unit` rows (names in NFC).

    Raises
    ------
    ValueError
        If a row lacks a code, name or type, or repeats a ``(code, valid_from)`` key.
    """
    units, seen = [], set()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            unit = Unit(
                code=row["code"].strip(),
                valid_from=row["valid_from"].strip(),
                valid_to=row["valid_to"].strip(),
                name=nfc(row["name"]),
                type=nfc(row["type"]),
                successor_code=row.get("successor_code", "").strip(),
                established_by=nfc(row.get("established_by", "")),
                ended_by=nfc(row.get("ended_by", "")),
            )
            if not (unit.code and unit.name and unit.type):
                raise ValueError(f"{path}, row {lineno}: code, name and type are required")
            if unit.key in seen:
                raise ValueError(f"{path}, row {lineno}: unit {unit.key} is listed twice")
            seen.add(unit.key)
            units.append(unit)
    return units


def valid_on(units: list[Unit], date: str) -> list[Unit]:
    """The units of ``units`` valid on ``date``, in registry order."""
    return [u for u in units if u.valid_on(date)]


def successor_on(units: list[Unit], unit: Unit, date: str) -> Unit | None:
    """Follow successor links from ``unit`` to the unit valid on ``date``.

    Returns ``unit`` itself when it is still valid, ``None`` when the chain ends.
    """
    current, steps = unit, 0
    while current is not None and not current.valid_on(date):
        if not current.successor_code or not current.valid_to or current.valid_to >= date:
            return None
        day_after = _next_day(current.valid_to)
        current = next(
            (u for u in units if u.code == current.successor_code and u.valid_on(day_after)), None
        )
        steps += 1
        if steps > 50:  # a cycle in the registry
            return None
    return current


def _next_day(date: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()


def store_registry(conn: sa.Connection, units: list[Unit]) -> dict[tuple[str, str], int]:
    """Insert or update the registry in the store; return ``{(code, valid_from): id}``."""
    existing = {
        (r.code, r.valid_from): r.id
        for r in conn.execute(sa.select(db.units.c.id, db.units.c.code, db.units.c.valid_from))
    }
    for unit in units:
        values = dict(
            code=unit.code, valid_from=unit.valid_from, valid_to=unit.valid_to, name=unit.name,
            type=unit.type, successor_code=unit.successor_code,
            established_by=unit.established_by, ended_by=unit.ended_by, parent=unit.parent,
        )
        if unit.key in existing:
            conn.execute(sa.update(db.units).where(db.units.c.id == existing[unit.key]).values(**values))
        else:
            existing[unit.key] = conn.execute(sa.insert(db.units).values(**values)).inserted_primary_key[0]
    return existing


def load_units(conn: sa.Connection) -> list[tuple[int, Unit]]:
    """Read the registry back from the store as ``(id, Unit)`` pairs."""
    rows = conn.execute(sa.select(db.units).order_by(db.units.c.id))
    return [
        (
            r.id,
            Unit(r.code, r.valid_from, r.valid_to, r.name, r.type,
                 r.successor_code, r.established_by, r.ended_by, r.parent),
        )
        for r in rows
    ]
