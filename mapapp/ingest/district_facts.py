"""District-level figures: the real series of ../shared/data/district-facts.csv and the figures of the 2016-2020 report, read and stored at seed time."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import sqlalchemy as sa

from mapapp.core.names import nfc
from mapapp.store import db

REPORT_TITLE = ("UBND huyện Hướng Hóa — Báo cáo sơ kết 5 năm thực hiện Đề án 161 "
                "(Quyết định 161/QĐ-TTg), 2020")




_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


_YEAR = re.compile(r"^(19|20)\d\d$")


def read_facts(path: Path) -> list[dict]:
    """Rows of ``district-facts.csv`` (scope, year, indicator, value, unit, source, quote)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [_row(db.DATASET_FACTS, i, r["scope"], r["year"], r["indicator"], r["value"], r["unit"],
                     _host(r["source"]), r["source"], r["quote"])
                for i, r in enumerate(csv.DictReader(fh))]


def read_report(path: Path) -> list[dict]:
    """Rows of ``report-161-figures.csv`` (scope, period, indicator, value, unit, quote): all from the report."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [_row(db.DATASET_REPORT, i, r["scope"], r["period"], r["indicator"], r["value"], r["unit"],
                     REPORT_TITLE, "", r["quote"])
                for i, r in enumerate(csv.DictReader(fh))]


def _row(dataset, position, scope, period, indicator, value, unit, title, url, quote) -> dict:
    period, value = nfc(period), nfc(value)
    return {
        "dataset": dataset, "position": position, "scope": nfc(scope), "period": period,
        "year": int(period) if _YEAR.match(period) else None, "indicator": indicator.strip(),
        "value_text": value, "value": float(value) if _NUMBER.match(value) else None,
        "unit": nfc(unit), "source_title": title, "source_url": url.strip(), "quote": nfc(quote),
    }


def _host(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0] or url


def store(conn: sa.Connection, rows: list[dict]) -> None:
    """Replace the stored district figures with ``rows``."""
    conn.execute(sa.delete(db.district_facts))
    if rows:
        conn.execute(sa.insert(db.district_facts), rows)
