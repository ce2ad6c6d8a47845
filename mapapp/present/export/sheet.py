"""What goes on one sheet: the map panels (one per year), their views, project sites and notes."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Iterable

from mapapp.core.i18n import text
from mapapp.present import classify
from mapapp.present.choropleth import area_name, build_view, diverging, same_classes, signed_labels
from mapapp.present.classes import years_text
from mapapp.present.export.geometry import _VersionGeometry, version_geometry
from mapapp.present.export.style import _s
from mapapp.present.viewstate import BadRequest, ViewState
from mapapp.query import read as query


@dataclass
class MapPanel:
    """One map of the sheet: a year, its ``build_view`` payload and geometry, and its project sites."""

    year: int
    view: dict
    geometry: _VersionGeometry
    sites: list[dict] = field(default_factory=list)  # {"lon", "lat", "count"}


@dataclass
class Sheet:
    """Everything printed on one export, ready to draw."""

    state: ViewState
    panels: list[MapPanel]
    title: str
    unit: str
    legend: list[tuple[str, str, int]]  # (colour, label, count)
    no_data: tuple[str, int]  # (label, count)
    classes_note: str
    sources: list[dict]
    boundaries_note: str
    illustrative: bool
    project_count: int
    multiples: bool
    context: str | None = None  # the stored surroundings (JSON text, see mapapp.geo.context)


def _years_text(years: Iterable[int]) -> str:
    years = list(years)
    if len(years) >= 3 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(map(str, years))


def _sites(conn, year: int) -> tuple[list[dict], int]:
    """Project sites of ``year`` grouped by position (one marker per commune)."""
    projects = query.projects_for_year(conn, year)
    by_place: dict[tuple[float, float], set] = {}
    for project_ in projects:
        for site in project_["sites"]:
            by_place.setdefault((site["lon"], site["lat"]), set()).add(project_["id"])
    sites = [{"lon": lon, "lat": lat, "count": len(ids)} for (lon, lat), ids in sorted(by_place.items())]
    return sites, len(projects)


def _check_has_data(conn, view: dict, state: ViewState) -> None:
    if any(r["value"] is not None for r in view["records"]):
        return
    years = query.indicator_years(conn).get(state.indicator, {}).get("years", [])
    name = view["indicator"]["name"]
    hint = f"years with data: {', '.join(map(str, years))}" if years else "this indicator has no data yet"
    raise BadRequest(f"no values of {name!r} ({state.indicator}) for {state.year}; {hint}")


def prepare(conn, state: ViewState, years: Iterable[int] | None = None) -> Sheet:
    """Read and classify everything one export shows.

    A single map (``years`` None) uses :func:`build_view` as is. Small multiples
    call ``build_view`` per year (values, sources, flags, classes): with classes
    shared across years (the default), preset or manual, every panel already has the
    map page's classes; otherwise :func:`_sheet_classes` classifies all years
    together, so the page has one legend valid for every map.
    """
    lang = state.lang
    years = list(years) if years else [state.year]
    multiples = len(years) > 1
    panels, project_ids = [], 0
    for year in years:
        year_state = replace(state, year=year)
        view = build_view(conn, year_state)
        _check_has_data(conn, view, year_state)
        version = query.version_by_id(conn, view["version"]["id"])
        sites, n_projects = _sites(conn, year) if state.projects else ([], 0)
        project_ids = max(project_ids, n_projects) if multiples else n_projects
        panels.append(MapPanel(year, view, version_geometry(conn, version), sites))
    first = panels[0].view
    indicator = first["indicator"]
    cls, legend = _sheet_classes(panels, state) if multiples else (first["classification"], first["legend"])
    labels, colors, counts, no_data = legend["labels"], cls["colors"], cls["counts"], cls["no_data_count"]
    n_classes = len(cls["breaks"])
    if multiples:
        title = f"{indicator['name']} — {area_name(years[0], panels[0].view['version']['unit_count'], lang, conn)}, " \
                f"{_years_text(years)}"
    else:
        title = first["title"]
    classes_note = _s("classes_one" if n_classes == 1 else "classes", lang, method=_method_text(cls, legend, lang),
                      n=n_classes)
    if multiples:
        classes_note += ". " + _s("shared", lang)
    sources = sorted({(s["title"], s["url"]) for p in panels for s in p.view["sources"]})
    return Sheet(
        state=state, panels=panels, title=title, unit=indicator["unit"],
        legend=list(zip(colors, labels, counts)), no_data=(legend["no_data"], no_data),
        classes_note=classes_note, sources=[{"title": t, "url": u} for t, u in sources],
        boundaries_note=_boundaries_note(panels, lang),
        illustrative=any(p.view["illustrative"] for p in panels),
        project_count=project_ids, multiples=multiples, context=_context_text(conn),
    )


def _method_text(cls: dict, legend: dict, lang: str) -> str:
    """How the classes were made, for the note under the legend (the legend's note says which years)."""
    note = legend.get("note")
    if cls.get("diverging"):
        return note or _s("diverging", lang)
    if cls.get("mode") in ("preset", "manual"):
        return note or text(cls["mode"], lang)
    return f"{text(cls['method'], lang)} — {note}" if note else text(cls["method"], lang)


def _sheet_classes(panels: list[MapPanel], state: ViewState) -> tuple[dict, dict]:
    """One classification and legend for all the maps of a sheet of small multiples.

    When every panel's view already has the same classes (shared, preset or manual: the
    map page's), they are kept, with the counts of all panels. Otherwise (per-year
    classes, real and illustrative years side by side) the values of all panels are
    classified together — zero-centred diverging classes for change views — and the
    panels recoloured, so the one legend is valid for every map.
    """
    views = [p.view for p in panels]
    first = views[0]
    if all(same_classes(first["classification"], v["classification"]) for v in views[1:]):
        counts = [sum(c) for c in zip(*(v["classification"]["counts"] for v in views))]
        no_data = sum(v["classification"]["no_data_count"] for v in views)
        return {**first["classification"], "counts": counts, "no_data_count": no_data}, first["legend"]
    records = [r for v in views for r in v["records"]]
    values = [r["value"] for r in records]
    palette_name = first["classification"]["palette"]
    decimals, lang = first["indicator"]["decimals"], state.lang
    if first["change"]:
        reverse = first["indicator"]["higher_is_better"] is False
        classification, classes = diverging(values, state.k, palette_name, reverse)
        labels = signed_labels(classification, decimals, lang)
        extra = {"diverging": True, "mode": "diverging"}
    else:
        classification, classes = classify.build(values, state.method, state.k, palette_name)
        labels = classify.legend_labels(classification, decimals, lang)
        extra = {"mode": "pair"}
    for record, index in zip(records, classes):
        record["class"] = index
        record["color"] = classification.colors[index] if index is not None else classify.NO_DATA_COLOR
    cls = {**classification.to_json(), "palette": palette_name, **extra}
    years = years_text([p.year for p in panels])
    note = text("note_diverging", lang) if first["change"] else text("note_pair", lang).format(years=years)
    return cls, {**first["legend"], "labels": labels, "note": note}


def _context_text(conn) -> str | None:
    from mapapp.query.anchors import context_json

    found = context_json(conn)
    return found[1] if found else None


def _boundaries_note(panels: list[MapPanel], lang: str) -> str:
    if len(panels) == 1:
        p = panels[0]
        return _s("boundaries", lang, year=p.year, n=p.view["version"]["unit_count"])
    groups: dict[str, list[MapPanel]] = {}
    for p in panels:
        groups.setdefault(p.view["version"]["id"], []).append(p)
    parts = [_s("boundaries_group", lang, years=", ".join(str(p.year) for p in ps),
                n=ps[0].view["version"]["unit_count"]) for ps in groups.values()]
    return _s("boundaries_many", lang, groups="; ".join(parts))


def slug(text_: str) -> str:
    """ASCII file-name slug: ``Tỷ lệ hộ nghèo`` → ``ty-le-ho-ngheo``."""
    text_ = text_.replace("đ", "d").replace("Đ", "D")
    ascii_ = unicodedata.normalize("NFKD", text_).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "map"


def filename_for(sheet: Sheet, fmt: str) -> str:
    """Download name, e.g. ``ty-le-ho-ngheo-2021.png``."""
    years = "-".join(str(p.year) for p in sheet.panels)
    return f"{slug(sheet.panels[0].view['indicator']['name'])}-{years}.{fmt}"


def export_date(today: dt.date, lang: str) -> str:
    """dd/mm/yyyy in Vietnamese, ISO 8601 in English."""
    return today.strftime("%d/%m/%Y") if lang == "vi" else today.isoformat()
