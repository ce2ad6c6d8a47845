"""Column roles of an annex: which header holds the commune name, the code, the year, a count or a rate."""
from __future__ import annotations

import re

from mapapp.ingest import annex
from mapapp.ingest.annex import Table, fold
from mapapp.store.catalogue import Indicator

META_ROLES = ("name", "code", "year", "stt", "indicator", "value", "numerator", "denominator", "source")


def role_label(role: str, catalogue: dict[str, Indicator] | None = None) -> str:
    """Human-readable label of a column role ("poverty_rate:numerator" → "Tỷ lệ hộ nghèo — tử số")."""
    if ":" not in role:
        return role
    indicator, part = role.split(":", 1)
    name = catalogue[indicator].name_vi if catalogue and indicator in catalogue else indicator
    parts = {"value": "giá trị / value", "numerator": "tử số / numerator", "denominator": "mẫu số / denominator"}
    return f"{name} — {parts.get(part, part)}"


def recognise_column(header: str) -> str | None:
    """The role of a column from its header text, or ``None`` when it is not recognised.

    Examples
    --------
    >>> recognise_column("Hộ nghèo / Tỷ lệ (%)")
    'poverty_rate:value'
    >>> recognise_column("Tổng số hộ")
    'households:value'
    """
    h = fold(header)
    if not h:
        return None
    return _meta_role(h) or _indicator_role(h)


def _meta_role(h: str) -> str | None:
    if annex.is_name_header(h):
        return "name"
    if h in ("stt", "tt", "so tt", "so thu tu", "no"):
        return "stt"
    if h in ("ma", "ma xa", "ma don vi", "ma dvhc", "ma so", "code", "gso code", "ma hanh chinh", "ma dv"):
        return "code"
    if h in ("nam", "year", "nam bao cao"):
        return "year"
    if h in ("chi tieu", "indicator", "ten chi tieu", "chi so"):
        return "indicator"
    if h in ("gia tri", "value", "so lieu"):
        return "value"
    if h in ("tu so", "numerator"):
        return "numerator"
    if h in ("mau so", "denominator"):
        return "denominator"
    if h in ("nguon", "source", "nguon so lieu", "van ban", "nguon van ban"):
        return "source"
    return None


def _is_rate(h: str) -> bool:
    return "ty le" in h or "%" in h or "rate" in h or "percent" in h


def _indicator_role(h: str) -> str | None:
    if any(w in h for w in ("thoat ngheo", "phat sinh", "tai ngheo", "giam ngheo")):
        return None
    if "can ngheo" in h or "near poor" in h or "near poverty" in h:
        return "near_poverty_rate:" + ("value" if _is_rate(h) else "numerator")
    if "ngheo" in h or "poor" in h or "poverty" in h:
        return "poverty_rate:" + ("value" if _is_rate(h) else "numerator")
    if "van hoa" in h or "cultural" in h:
        if "thon" in h or "ban" in h or "village" in h:
            return "cultural_villages_rate:" + ("value" if _is_rate(h) else "numerator")
        return "cultural_families_rate:" + ("value" if _is_rate(h) else "numerator")
    return _count_role(h)


def _count_role(h: str) -> str | None:
    if re.search(r"\b(tong )?so thon\b|\bvillages\b", h):
        return "cultural_villages_rate:denominator"
    if "tong so gia dinh" in h:
        return "cultural_families_rate:denominator"
    if "dan toc thieu so" in h or "ethnic" in h:
        return "ethnic_minority_share:value" if _is_rate(h) else None
    if "mat do" in h or "density" in h:
        return "population_density:value"
    if "dien tich" in h or h.startswith("area"):
        return "area:value"
    if "dan so" in h or "nhan khau" in h or "so khau" in h or "population" in h:
        return "population:value"
    if re.search(r"\b(tong )?so ho\b|\bho dan\b|\bhouseholds\b", h):
        return "households:value"
    if "du an" in h or "projects" in h:
        return "projects_active:value"
    return None


def valid_roles(catalogue: dict[str, Indicator]) -> list[str]:
    """Every role a user may give a column (for the CLI help and the web form)."""
    roles = ["name", "code", "year", "stt", "ignore"]
    for ind in catalogue.values():
        roles.append(f"{ind.id}:value")
        if ind.kind == "rate":
            roles += [f"{ind.id}:numerator", f"{ind.id}:denominator"]
    return roles


def column_roles(table: Table, overrides: dict[str, str]) -> dict[int, str]:
    """Role of each column: the user's word (by letter or header text) over recognition."""
    by_header = {fold(k): v for k, v in overrides.items()}
    roles = {}
    for col in table.columns:
        role = overrides.get(col.letter) or overrides.get(col.letter.lower()) or by_header.get(fold(col.header))
        role = role or recognise_column(col.header)
        if col.index == table.name_col and not role:
            role = "name"
        if role and role != "ignore":
            roles[col.index] = role
    return roles
