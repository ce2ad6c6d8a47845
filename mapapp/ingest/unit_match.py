"""Match commune names or GSO codes written in imported files to units of the registry.

A name is matched against the units valid on a date (the data's year end):
NFC/NFD, old and new tone placement, any case, with or without "Xã"/"Thị trấn"/"TT"/
"Phường" (all via :func:`mapapp.names.match_key`), then without diacritics when that is
unambiguous. A name that fails gets an explanation: a unit of this district that is
not valid on that date ("A Túc" in 2021), a commune of another district ("Hướng Hiệp",
Đakrông), or "did you mean ..." suggestions.
"""
from __future__ import annotations

import difflib
import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mapapp.core.names import ascii_key, match_key, nfc
from mapapp.geo.units import Unit

NATIONAL_FILE = Path("geodata") / "vietnam-communes-2008.geojson.gz"
_CODE = re.compile(r"^\d{4,6}(\.0+)?$")


@dataclass(frozen=True)
class Match:
    """The outcome of matching one text: a unit, or an explanation of why not."""

    unit_id: int | None
    unit: Unit | None
    message: str = ""  # Vietnamese / English, when no unit matched
    suggestions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when a unit matched."""
        return self.unit is not None


class UnitMatcher:
    """Match texts to the units valid on ``date``.

    Parameters
    ----------
    registry : ``(id, Unit)`` pairs, as :func:`mapapp.units.load_units` returns them
    date : ISO date; only units valid on it match
    shared_dir : folder of the shared data (for the communes of other districts), optional
    """

    def __init__(self, registry: list[tuple[int, Unit]], date: str, shared_dir: Path | str | None = None):
        self.date = date
        self.registry = registry
        self.shared_dir = Path(shared_dir) if shared_dir else None
        self.valid = [(uid, u) for uid, u in registry if u.valid_on(date)]
        self.by_code = {u.code: (uid, u) for uid, u in self.valid}
        self.by_key = {match_key(u.name): (uid, u) for uid, u in self.valid}
        loose: dict[str, list] = {}
        for uid, u in self.valid:
            loose.setdefault(ascii_key(u.name), []).append((uid, u))
        self.by_ascii = loose

    def match(self, text) -> Match:
        """Match one cell (a name or a GSO code)."""
        raw = nfc(str(text if text is not None else ""))
        if not raw:
            return Match(None, None, "tên xã trống / empty commune name")
        if _CODE.match(raw):
            return self._by_code(raw.split(".")[0])
        found = self.by_key.get(match_key(raw))
        if found is None:
            candidates = self.by_ascii.get(ascii_key(raw), [])
            if len(candidates) > 1:
                names = ", ".join(u.name for _, u in candidates)
                return Match(None, None, f"'{raw}' không rõ là xã nào ({names}); hãy ghi đủ dấu / "
                                         f"ambiguous without diacritics ({names})")
            found = candidates[0] if candidates else None
        if found is not None:
            return Match(found[0], found[1])
        return Match(None, None, *self._explain(raw))

    def _by_code(self, code: str) -> Match:
        if code in self.by_code:
            uid, unit = self.by_code[code]
            return Match(uid, unit)
        others = [u for _, u in self.registry if u.code == code]
        if others:
            return Match(None, None, _not_valid_message(code, others, self.date))
        return Match(None, None, f"mã {code} không phải mã xã nào của huyện / code {code} is not a commune "
                                 f"code of the district")

    def _explain(self, raw: str) -> tuple[str, tuple[str, ...]]:
        key, loose = match_key(raw), ascii_key(raw)
        elsewhere_in_time = [u for _, u in self.registry if match_key(u.name) == key or ascii_key(u.name) == loose]
        if elsewhere_in_time:
            return _not_valid_message(raw, elsewhere_in_time, self.date), ()
        places = other_district_places(self.shared_dir, key, loose) if self.shared_dir else []
        if places:
            where = "; ".join(f"{n}, {d}, {p}" for n, d, p in places[:3])
            return (f"'{raw}' là xã của huyện khác, không thuộc huyện Hướng Hóa ({where}) / "
                    f"a commune of another district ({where})"), ()
        suggestions = self.suggest(raw)
        hint = f" Có phải / did you mean: {', '.join(suggestions)}?" if suggestions else ""
        return f"không tìm thấy xã '{raw}' / unknown commune '{raw}'.{hint}", tuple(suggestions)

    def suggest(self, raw: str, n: int = 3) -> list[str]:
        """Names of valid units that look like ``raw`` (closest first)."""
        names = {ascii_key(u.name): u.name for _, u in self.valid}
        close = difflib.get_close_matches(ascii_key(raw), list(names), n=n, cutoff=0.6)
        return [names[c] for c in close]


def _not_valid_message(label: str, units: list[Unit], date: str) -> str:
    unit = units[0]
    span = f"{unit.valid_from or '…'} → {unit.valid_to or '…'}"
    after = f"; sau đó / then: {unit.successor_code}" if unit.successor_code and unit.valid_to else ""
    return (f"'{label}' ({unit.name}) không còn hoặc chưa có vào ngày {date} (hiệu lực {span}{after}) / "
            f"not a valid unit on {date} (valid {span})")


def other_district_places(shared_dir: Path, key: str, loose: str) -> list[tuple[str, str, str]]:
    """Communes outside Hướng Hóa named like ``key`` (exact) or ``loose`` (no diacritics)."""
    exact, by_ascii = _national_index(str(shared_dir))
    return exact.get(key) or by_ascii.get(loose) or []


@lru_cache(maxsize=2)
def _national_index(shared_dir: str) -> tuple[dict, dict]:
    """Read the national commune list once (names, districts, provinces of other districts)."""
    path = Path(shared_dir) / NATIONAL_FILE
    exact: dict[str, list] = {}
    loose: dict[str, list] = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            features = json.load(fh).get("features", [])
    except (OSError, ValueError):
        return exact, loose
    for feature in features:
        props = feature.get("properties") or {}
        district = nfc(props.get("district") or "")
        if match_key(district.replace("Huyện", "")) == match_key("Hướng Hóa"):
            continue
        place = (nfc(props.get("name") or ""), district, nfc(props.get("province") or ""))
        exact.setdefault(match_key(place[0]), []).append(place)
        loose.setdefault(ascii_key(place[0]), []).append(place)
    return exact, loose
