"""Values an import writes: entries, their dry run against the store (new, changed, unchanged), the batched write that records every replaced row, and its exact reversal."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from mapapp.geo.units import Unit
from mapapp.store import db

CHUNK = 500  # rows written per statement batch (progress is reported per batch)


@dataclass
class Loc:
    """Where a value came from."""

    file: str
    sheet: str
    row: int
    column: str = ""
    header: str = ""
    text: str = ""


@dataclass
class Entry:
    """One value to store: unit, year, indicator, value with numerator/denominator."""

    unit_id: int
    unit: Unit
    year: int
    indicator: str
    value: float | None
    numerator: float | None
    denominator: float | None
    source: str | None
    loc: Loc

    @property
    def key(self) -> tuple[int, int, str]:
        """The stored row it goes to: ``(unit_id, year, indicator)``."""
        return (self.unit_id, self.year, self.indicator)


@dataclass
class Change:
    """What an entry does to the store: "new", "changed" (with the old row) or "unchanged"."""

    kind: str
    entry: Entry
    old: dict | None


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def plan(conn: sa.Connection, entries: list[Entry], source: str) -> list[Change]:
    """Compare entries with the stored values: the exact effect of applying them."""
    v, s = db.indicator_values.c, db.sources.c
    existing = {}
    for row in conn.execute(sa.select(db.indicator_values, s.title.label("source_title"))
                            .join(db.sources, s.id == v.source_id)):
        existing[(row.unit_id, row.year, row.indicator_id)] = dict(row._mapping)
    changes = []
    for entry in entries:
        old = existing.get(entry.key)
        if old is None:
            changes.append(Change("new", entry, None))
            continue
        same = (_same(old["value"], entry.value) and _same(old["numerator"], entry.numerator)
                and _same(old["denominator"], entry.denominator) and not old["illustrative"]
                and old["source_title"] == (entry.source or source))
        changes.append(Change("unchanged" if same else "changed", entry, old))
    return changes


def summarise(changes: list[Change]) -> dict[str, int]:
    """Counts of new, changed and unchanged values."""
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    for change in changes:
        counts[change.kind] += 1
    return counts


def write_values(conn: sa.Connection, import_id: int, rows: list[tuple[Change, int]], progress=None) -> None:
    """Upsert values, recording each replaced row in ``import_value_changes`` (in batches)."""
    total = len(rows)
    for start in range(0, total, CHUNK):
        batch = rows[start:start + CHUNK]
        conn.execute(sa.insert(db.import_value_changes), [_change_record(import_id, c) for c, _ in batch])
        inserts = [_value_row(import_id, c.entry, sid) for c, sid in batch if c.old is None]
        if inserts:
            conn.execute(sa.insert(db.indicator_values), inserts)
        updates = [dict(_value_row(import_id, c.entry, sid), row_id=c.old["id"]) for c, sid in batch if c.old]
        if updates:
            v = db.indicator_values
            conn.execute(sa.update(v).where(v.c.id == sa.bindparam("row_id")).values(
                value=sa.bindparam("value"), numerator=sa.bindparam("numerator"),
                denominator=sa.bindparam("denominator"), source_id=sa.bindparam("source_id"),
                illustrative=sa.bindparam("illustrative"), origin=sa.bindparam("origin")),
                [{k: u[k] for k in ("row_id", "value", "numerator", "denominator", "source_id", "illustrative",
                                    "origin")} for u in updates])
        if progress:
            progress("write", min(start + CHUNK, total), total)


def _value_row(import_id: int, entry: Entry, source_id: int) -> dict:
    return dict(unit_id=entry.unit_id, year=entry.year, indicator_id=entry.indicator, value=entry.value,
                numerator=entry.numerator, denominator=entry.denominator, source_id=source_id,
                illustrative=False, origin=f"import:{import_id}")


def _change_record(import_id: int, change: Change) -> dict:
    old = change.old or {}
    e = change.entry
    return dict(import_id=import_id, unit_id=e.unit_id, year=e.year, indicator_id=e.indicator,
                previous_exists=change.old is not None, old_value=old.get("value"),
                old_numerator=old.get("numerator"), old_denominator=old.get("denominator"),
                old_source_id=old.get("source_id"), old_illustrative=old.get("illustrative"),
                old_origin=old.get("origin"), new_value=e.value, new_numerator=e.numerator,
                new_denominator=e.denominator)


class UndoRefused(Exception):
    """An import cannot be undone (unknown, already undone, or later imports depend on it)."""


def restore_values(conn: sa.Connection, import_id: int) -> int:
    """Put back the value rows an import replaced (or delete those it added)."""
    c, v = db.import_value_changes.c, db.indicator_values
    changes = conn.execute(sa.select(db.import_value_changes).where(c.import_id == import_id)).all()
    origin = f"import:{import_id}"
    later = set()
    for ch in changes:
        current = conn.execute(sa.select(v.c.origin).where(
            v.c.unit_id == ch.unit_id, v.c.year == ch.year, v.c.indicator_id == ch.indicator_id)).scalar()
        if current != origin:
            later.add(current or "?")
    if later:
        raise UndoRefused(f"các giá trị này đã bị thay bởi lần nhập sau ({', '.join(sorted(later))}); hãy hoàn tác "
                          f"lần đó trước / later imports changed the same values: undo them first")
    for ch in changes:
        where = (v.c.unit_id == ch.unit_id) & (v.c.year == ch.year) & (v.c.indicator_id == ch.indicator_id)
        if ch.previous_exists:
            conn.execute(sa.update(v).where(where).values(
                value=ch.old_value, numerator=ch.old_numerator, denominator=ch.old_denominator,
                source_id=ch.old_source_id, illustrative=ch.old_illustrative, origin=ch.old_origin))
        else:
            conn.execute(sa.delete(v).where(where))
    return len(changes)
