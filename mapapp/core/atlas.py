"""Atlases: which area the app maps, from which boundary file, keyed on which field.

The default atlas, ``huong-hoa``, is the district map built from the unit registry
(``admin-units.csv``, three boundary versions, successor links). Any other atlas is
described by a JSON file ``geodata/atlases/<id>.json`` and is a single boundary
layer: for instance all 11,163 communes of Vietnam, or the communes of one province.

Choose the atlas with ``MAPAPP_ATLAS=<id>`` (or ``ATLAS`` in ``instance/config.py``);
each atlas has its own database file by default (``instance/atlas-<id>.sqlite``).

Keys of an atlas file
---------------------
``id``, ``name_vi``, ``name_en``
    Identifier and the area's name (map titles).
``boundaries``
    The boundary file, relative to the shared folder (``.gz`` files are read through
    GDAL's ``/vsigzip/``).
``filter``
    ``{"field": "value"}``: keep only the features whose properties match (the area).
``unit_key``, ``name_field``, ``parent_fields``
    The property that identifies a unit (unique), the unit's name, and the properties
    naming its parents (district, province), shown beside the name.
``version_id``, ``version_label_vi``, ``version_label_en``, ``valid_from``, ``valid_to``
    The boundary version the layer is stored as.
``source``
    Where the boundaries come from (shown with derived figures such as the area).
``gap_width_m``, ``simplify_m``
    Coverage cleaning: slivers narrower than this are closed; simplification tolerance.
``levels``
    Levels of detail for the web map: ``[{"max_zoom": 8, "tolerance_m": 1000}, ...]``
    (see :mod:`mapapp.packs`).
``first_year``, ``last_year``, ``default_year``, ``seed``
    The years of the illustrative indicator and its random seed.
``archipelagos``
    True for a map of the whole national territory: the Hoàng Sa and Trường Sa
    archipelagos (``geodata/archipelagos.json``) are drawn on it and on its exports.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ATLAS = "huong-hoa"


@dataclass(frozen=True)
class Level:
    """One level of detail of the web map's geometry: used up to ``max_zoom``."""

    max_zoom: int
    tolerance_m: float


@dataclass(frozen=True)
class Atlas:
    """A configured area: its boundary file, unit key and illustrative series."""

    id: str
    name_vi: str
    name_en: str
    boundaries: str
    unit_key: str
    name_field: str = "name"
    parent_fields: tuple[str, ...] = ()
    filter: dict = field(default_factory=dict)
    version_id: str = "2008"
    version_label_vi: str = ""
    version_label_en: str = ""
    valid_from: str = ""
    valid_to: str = ""
    source: str = ""
    gap_width_m: float = 200.0
    simplify_m: float = 50.0
    levels: tuple[Level, ...] = (Level(99, 0.0),)
    first_year: int = 2016
    last_year: int = 2025
    default_year: int = 2024
    seed: int = 161
    archipelagos: bool = False

    def name(self, lang: str) -> str:
        """The area's name in ``lang``."""
        return self.name_en if lang == "en" else self.name_vi

    def boundary_path(self, shared_dir: Path) -> Path:
        """The boundary file on disk."""
        return Path(shared_dir) / self.boundaries

    def __hash__(self) -> int:
        return hash(self.id)


def atlas_dir(geodata_dir: Path) -> Path:
    """The folder of the atlas files."""
    return Path(geodata_dir) / "atlases"


def available(geodata_dir: Path) -> list[str]:
    """Ids of every atlas: the default one and those described in ``geodata/atlases``."""
    return [DEFAULT_ATLAS] + sorted(p.stem for p in atlas_dir(geodata_dir).glob("*.json"))


def load(atlas_id: str, geodata_dir: Path) -> Atlas | None:
    """The atlas ``atlas_id``; ``None`` for the default (registry-based) atlas.

    Raises
    ------
    ValueError
        When no such atlas exists or its file is malformed (the message names the file).
    """
    if atlas_id in ("", DEFAULT_ATLAS):
        return None
    path = atlas_dir(geodata_dir) / f"{atlas_id}.json"
    if not path.is_file():
        raise ValueError(f"unknown atlas {atlas_id!r}: no file {path}; known: {', '.join(available(geodata_dir))}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        levels = tuple(Level(int(lv["max_zoom"]), float(lv["tolerance_m"])) for lv in data.pop("levels", []))
        data["parent_fields"] = tuple(data.get("parent_fields", ()))
        atlas = Atlas(**data, **({"levels": levels} if levels else {}))
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path}: {error}") from error
    if atlas.id != atlas_id:
        raise ValueError(f"{path}: its id is {atlas.id!r}, expected {atlas_id!r}")
    return atlas


def database_name(atlas_id: str) -> str:
    """The default SQLite file name of an atlas's store."""
    return "mapapp.sqlite" if atlas_id in ("", DEFAULT_ATLAS) else f"atlas-{atlas_id}.sqlite"
