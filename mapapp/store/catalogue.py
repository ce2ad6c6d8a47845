"""The indicator catalogue: ids, names in both languages, units, kinds, decimals, display order."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from mapapp.store import db


@dataclass(frozen=True)
class Indicator:
    """One indicator of the catalogue."""

    id: str
    name_vi: str
    name_en: str
    unit_vi: str
    unit_en: str
    kind: str
    higher_is_better: bool | None
    decimals: int
    sort_order: int
    legend_breaks: str = ""  # preset legend bands, "10,20,30,40" ('' = none)

    def preset_breaks(self) -> tuple[float, ...]:
        """The preset legend bands as numbers (empty when none is set).

        Returns
        -------
        tuple of float
            Increasing class bounds, as written in ``indicators.csv``.
        """
        return tuple(float(x) for x in self.legend_breaks.split(",") if x.strip())

    def name(self, lang: str) -> str:
        """The indicator's name in ``lang`` ("vi" or "en")."""
        return self.name_en if lang == "en" else self.name_vi

    def unit(self, lang: str) -> str:
        """The unit of measure in ``lang``."""
        return self.unit_en if lang == "en" else self.unit_vi


def read_catalogue(path: Path) -> list[Indicator]:
    """Read ``geodata/indicators.csv``."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            Indicator(
                id=row["id"], name_vi=row["name_vi"], name_en=row["name_en"],
                unit_vi=row["unit_vi"], unit_en=row["unit_en"], kind=row["kind"],
                higher_is_better={"true": True, "false": False}.get(row["higher_is_better"]),
                decimals=int(row["decimals"]), sort_order=int(row["sort_order"]),
                legend_breaks=(row.get("legend_breaks") or "").strip(),
            )
            for row in csv.DictReader(fh)
        ]


def store_catalogue(conn: sa.Connection, catalogue: list[Indicator]) -> None:
    """Insert or update every indicator of the catalogue."""
    known = set(conn.execute(sa.select(db.indicators.c.id)).scalars())
    for ind in catalogue:
        values = ind.__dict__.copy()
        if ind.id in known:
            conn.execute(sa.update(db.indicators).where(db.indicators.c.id == ind.id).values(**values))
        else:
            conn.execute(sa.insert(db.indicators).values(**values))


def load_catalogue(conn: sa.Connection) -> dict[str, Indicator]:
    """The catalogue from the store, in display order."""
    rows = conn.execute(sa.select(db.indicators).order_by(db.indicators.c.sort_order))
    return {r.id: Indicator(**r._mapping) for r in rows}


