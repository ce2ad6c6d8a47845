"""Classification of indicator values into colour classes, shared by the web
map and the exported images.

Classes are described by their *upper bounds*: class ``i`` holds the values
``v`` with ``bounds[i-1] < v <= bounds[i]``; class 0 also holds the minimum.
Missing values (``None``/NaN/±inf) are "no data" and belong to no class.

Legend convention: class 0 reads ``"min – b0"`` and class ``i > 0`` reads
``"> b(i-1) – b(i)"``, so every label states exactly which values it covers.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Iterable, Sequence

import numpy as np

from mapapp.core import i18n

METHODS = ("quantiles", "natural_breaks", "equal_interval")
DEFAULT_METHOD = "quantiles"
DEFAULT_K = 5
MIN_K = 3
MAX_K = 7

# Fisher-Jenks is O(k·n²); above this many values it runs on a sample.
JENKS_MAX_SAMPLE = 2000

NO_DATA_COLOR = "#d9d9d9"
# Renderers should draw no-data areas with a hatch as well as the grey, so
# "no data" is never mistaken for the lightest class.
NO_DATA_HATCH = True

LANGS = ("vi", "en")
EN_DASH = "\u2013"

# ColorBrewer 2.0 schemes (Cynthia Brewer, Penn State), colour-blind safe.
PALETTES: dict[str, dict[int, list[str]]] = {
    "YlOrRd": {
        3: ["#ffeda0", "#feb24c", "#f03b20"],
        4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
        5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
        6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
        7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    },
    "Blues": {
        3: ["#deebf7", "#9ecae1", "#3182bd"],
        4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
        5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
        6: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
        7: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
    },
    "Greens": {
        3: ["#e5f5e0", "#a1d99b", "#31a354"],
        4: ["#edf8e9", "#bae4b3", "#74c476", "#238b45"],
        5: ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
        6: ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"],
        7: ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"],
    },
    "Purples": {
        3: ["#efedf5", "#bcbddc", "#756bb1"],
        4: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"],
        5: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
        6: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"],
        7: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"],
    },
    "YlGnBu": {
        3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
        4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
        5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
        6: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
        7: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
    },
    "RdBu": {
        3: ["#ef8a62", "#f7f7f7", "#67a9cf"],
        4: ["#ca0020", "#f4a582", "#92c5de", "#0571b0"],
        5: ["#ca0020", "#f4a582", "#f7f7f7", "#92c5de", "#0571b0"],
        6: ["#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac"],
        7: ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"],
    },
    "BrBG": {
        3: ["#d8b365", "#f5f5f5", "#5ab4ac"],
        4: ["#a6611a", "#dfc27d", "#80cdc1", "#018571"],
        5: ["#a6611a", "#dfc27d", "#f5f5f5", "#80cdc1", "#018571"],
        6: ["#8c510a", "#d8b365", "#f6e8c3", "#c7eae5", "#5ab4ac", "#01665e"],
        7: ["#8c510a", "#d8b365", "#f6e8c3", "#f5f5f5", "#c7eae5", "#5ab4ac", "#01665e"],
    },
}
SEQUENTIAL = ("YlOrRd", "Blues", "Greens", "Purples", "YlGnBu")
DIVERGING = ("RdBu", "BrBG")



# --------------------------------------------------------------------------
# Validation and value cleaning
# --------------------------------------------------------------------------

def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not MIN_K <= k <= MAX_K:
        raise ValueError(f"k must be an integer from {MIN_K} to {MAX_K}, got {k!r}")
    return int(k)


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown classification method {method!r}; expected one of {METHODS}")
    return method


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGS}")
    return lang


def _as_float(value: object) -> float | None:
    """``float(value)`` when finite, else None (None, NaN and ±inf are no data)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _finite_sorted(values: Iterable[object]) -> np.ndarray:
    numbers = [x for x in map(_as_float, values) if x is not None]
    return np.sort(np.asarray(numbers, dtype=float))


# --------------------------------------------------------------------------
# Breaks
# --------------------------------------------------------------------------

def breaks(values: Iterable[object], method: str = DEFAULT_METHOD, k: int = DEFAULT_K) -> list[float]:
    """Compute the class upper bounds of ``values``.

    Parameters
    ----------
    values : iterable of number or None
        The data; None, NaN and infinite values are ignored.
    method : {"quantiles", "natural_breaks", "equal_interval"}
        Quantiles put (about) the same number of values in each class; natural
        breaks is Fisher-Jenks optimal classification; equal interval splits
        ``[min, max]`` into ``k`` ranges of equal width.
    k : int
        Requested number of classes, from 3 to 7.

    Returns
    -------
    list of float
        Strictly increasing upper bounds, at most ``k`` of them, the last being
        the maximum. ``[]`` when there is no finite value; one bound per
        distinct value when there are no more than ``k`` distinct values.

    Raises
    ------
    ValueError
        If ``method`` is unknown or ``k`` is outside 3..7.
    """
    _check_method(method)
    k = _check_k(k)
    data = _finite_sorted(values)
    if data.size == 0:
        return []
    distinct = np.unique(data)
    if distinct.size <= k:
        return [float(x) for x in distinct]
    compute = {
        "quantiles": _quantile_breaks,
        "natural_breaks": _natural_breaks,
        "equal_interval": _equal_interval_breaks,
    }[method]
    return compute(data, k)


def _quantile_breaks(data: np.ndarray, k: int) -> list[float]:
    # "inverted_cdf" picks observed values, so the legend shows real data values
    # (e.g. 20 rather than 20.8) while keeping classes balanced.
    qs = np.quantile(data, np.arange(1, k + 1) / k, method="inverted_cdf")
    bounds = [float(x) for x in np.unique(qs)]
    bounds[-1] = float(data[-1])
    return bounds


def _equal_interval_breaks(data: np.ndarray, k: int) -> list[float]:
    lo, hi = float(data[0]), float(data[-1])
    step = (hi - lo) / k
    # The last bound is set to max exactly, avoiding float drift past it.
    return [lo + i * step for i in range(1, k)] + [hi]


def _natural_breaks(data: np.ndarray, k: int) -> list[float]:
    sample = _even_sample(data, JENKS_MAX_SAMPLE)
    xs, weights = np.unique(sample, return_counts=True)
    if xs.size <= k:
        bounds = [float(x) for x in xs]
    else:
        bounds = _fisher_jenks(xs, weights.astype(float), k)
    bounds[-1] = float(data[-1])
    return bounds


def _even_sample(data: np.ndarray, size: int) -> np.ndarray:
    """Deterministic evenly spaced sample of sorted ``data`` (keeps min and max)."""
    if data.size <= size:
        return data
    idx = np.linspace(0, data.size - 1, size).round().astype(int)
    return data[idx]


def _segment_costs(xs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Matrix ``cost[a, b]``: weighted sum of squared deviations of ``xs[a:b]``.

    Entries with ``a >= b`` (empty segments) are infinite.
    """
    # Centring keeps the prefix-sum formula numerically stable for large values.
    centred = xs - np.average(xs, weights=weights)
    w = np.concatenate(([0.0], np.cumsum(weights)))
    s = np.concatenate(([0.0], np.cumsum(weights * centred)))
    q = np.concatenate(([0.0], np.cumsum(weights * centred**2)))
    dw = w[None, :] - w[:, None]
    ds = s[None, :] - s[:, None]
    dq = q[None, :] - q[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.maximum(dq - ds**2 / dw, 0.0)
    cost[dw <= 0] = np.inf
    return cost


def _fisher_jenks(xs: np.ndarray, weights: np.ndarray, k: int) -> list[float]:
    """Optimal split of distinct sorted ``xs`` (with multiplicities) into ``k`` classes.

    Dynamic programming: ``best[b]`` is the minimal within-class squared
    deviation of ``xs[:b]`` split into ``j`` classes, extended one class at a time.
    """
    cost = _segment_costs(xs, weights)
    n = xs.size
    best = cost[0].copy()
    starts = np.zeros((k + 1, n + 1), dtype=int)
    cols = np.arange(n + 1)
    for j in range(2, k + 1):
        total = best[:, None] + cost
        starts[j] = np.argmin(total, axis=0)
        best = total[starts[j], cols]
    ends = [n]
    for j in range(k, 1, -1):
        ends.append(starts[j][ends[-1]])
    return [float(xs[end - 1]) for end in reversed(ends)]


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------

def classify(values: Iterable[object], upper_bounds: Sequence[float]) -> list[int | None]:
    """Assign each value the index of its class.

    Parameters
    ----------
    values : iterable of number or None
        The data to classify.
    upper_bounds : sequence of float
        Increasing class upper bounds, as returned by :func:`breaks`.

    Returns
    -------
    list of int or None
        Class ``i`` for ``bounds[i-1] < v <= bounds[i]``; values at or below
        ``bounds[0]`` are class 0, values above the last bound (possible when
        the bounds come from other data) are put in the last class. None for
        no data (None, NaN, ±inf) or when there are no bounds.
    """
    bounds = np.asarray(upper_bounds, dtype=float)
    last = bounds.size - 1
    result: list[int | None] = []
    for value in values:
        number = _as_float(value)
        if number is None or last < 0:
            result.append(None)
        else:
            result.append(min(int(np.searchsorted(bounds, number, side="left")), last))
    return result


# --------------------------------------------------------------------------
# Palettes
# --------------------------------------------------------------------------

def palette(name: str, k: int, reverse: bool = False) -> list[str]:
    """Return the ``k``-class colours of a ColorBrewer scheme.

    Parameters
    ----------
    name : str
        A key of :data:`PALETTES`.
    k : int
        Number of classes, from 3 to 7.
    reverse : bool
        Reverse the order (dark to light, or flip a diverging scheme).

    Returns
    -------
    list of str
        ``k`` hex colours, light to dark unless reversed (a new list).

    Raises
    ------
    ValueError
        If ``name`` is unknown or ``k`` is outside 3..7.
    """
    if name not in PALETTES:
        raise ValueError(f"unknown palette {name!r}; expected one of {tuple(PALETTES)}")
    colors = list(PALETTES[name][_check_k(k)])
    return colors[::-1] if reverse else colors


def default_palette(higher_is_better: bool | None) -> str:
    """Choose a palette name from the meaning of high values.

    Parameters
    ----------
    higher_is_better : bool or None
        True when a high value is good, False when it is bad, None when neutral.

    Returns
    -------
    str
        ``"YlGnBu"`` (good), ``"YlOrRd"`` (bad) or ``"Purples"`` (neutral).
    """
    if higher_is_better is None:
        return "Purples"
    return "YlGnBu" if higher_is_better else "YlOrRd"


def _class_colors(name: str, n_classes: int, reverse: bool) -> list[str]:
    """Colours for ``n_classes`` classes, also when fewer than 3 classes exist."""
    if n_classes >= MIN_K:
        return palette(name, n_classes, reverse)
    three = palette(name, MIN_K, reverse)
    # One class takes the middle colour; two take both ends for contrast.
    picks = {0: [], 1: [1], 2: [0, 2]}[n_classes]
    return [three[i] for i in picks]


# --------------------------------------------------------------------------
# Classification result
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Classification:
    """A computed classification: bounds, colours and class sizes.

    ``k`` is the requested number of classes; ``len(upper_bounds)`` may be
    smaller. ``min``/``max`` are None when there is no data.
    """

    method: str
    k: int
    upper_bounds: list[float]
    colors: list[str]
    counts: list[int]
    no_data_count: int
    min: float | None
    max: float | None

    def to_json(self) -> dict:
        """Return a JSON-ready dict.

        Returns
        -------
        dict
            Keys ``method, k, breaks, colors, counts, no_data_count,
            no_data_color, min, max``.
        """
        data = asdict(self)
        data["breaks"] = data.pop("upper_bounds")
        data["no_data_color"] = NO_DATA_COLOR
        return data


def build(
    values: Sequence[object],
    method: str = DEFAULT_METHOD,
    k: int = DEFAULT_K,
    palette_name: str = "YlOrRd",
    reverse: bool = False,
    pool: Sequence[object] | None = None,
    manual: Sequence[float] | None = None,
) -> tuple[Classification, list[int | None]]:
    """Classify ``values`` and colour the classes.

    Parameters
    ----------
    values : sequence of number or None
        The data, one entry per map feature.
    method : str
        One of :data:`METHODS`.
    k : int
        Requested number of classes, from 3 to 7.
    palette_name : str
        A key of :data:`PALETTES`.
    reverse : bool
        Reverse the palette.
    pool : sequence of number or None, optional
        The values the breaks are computed from (e.g. every year of the indicator, so
        that a colour means the same range in each year); default ``values``. ``min``
        and ``max`` then describe the pool, so the legend reads the same for every year.
    manual : sequence of float, optional
        Fixed class bounds (strictly increasing): ``len(manual) + 1`` classes, the
        first "≤ manual[0]", the last "> manual[-1]" (its upper bound in ``upper_bounds``
        repeats ``manual[-1]``). Overrides ``method``, ``k`` and ``pool`` for the bounds
        (method ``"manual"``).

    Returns
    -------
    tuple of (Classification, list of int or None)
        The classification and the class index of each value (None = no data).

    Raises
    ------
    ValueError
        For an unknown method or palette, ``k`` outside 3..7, or manual bounds
        that are not increasing or make more than 7 classes.
    """
    values = list(values)
    reference = list(pool) if pool is not None else values
    finite = _finite_sorted(reference + values if pool is not None else values)
    if manual:
        bounds = _manual_bounds(manual)
        method, k = "manual", len(bounds)
    else:
        bounds = breaks(reference, method, k)
    colors = _class_colors(palette_name, len(bounds), reverse)
    indexes = classify(values, bounds)
    counts = [0] * len(bounds)
    for index in indexes:
        if index is not None:
            counts[index] += 1
    no_data = sum(index is None for index in indexes)
    lo = float(finite[0]) if finite.size else None
    hi = float(finite[-1]) if finite.size else None
    result = Classification(method, int(k), bounds, colors, counts, no_data, lo, hi)
    return result, indexes


def _manual_bounds(manual: Sequence[float]) -> list[float]:
    """Upper bounds of manual classes: the given bounds, then the last cut again for the open class above.

    The repeated bound keeps the classes independent of the data (the same in every year):
    :func:`classify` puts every value above the last cut in that last class.
    """
    cuts = [float(b) for b in manual]
    if any(b >= a for a, b in zip(cuts[1:], cuts)) or len(cuts) + 1 > MAX_K:
        raise ValueError(f"manual bounds must be strictly increasing and at most {MAX_K - 1}, got {cuts}")
    return cuts + [cuts[-1]]


# --------------------------------------------------------------------------
# Number formatting and legend
# --------------------------------------------------------------------------

def format_number(value: object, decimals: int, lang: str = "vi") -> str:
    """Format a number for display.

    Parameters
    ----------
    value : number or None
        The number; None, NaN and infinities give ``"–"``.
    decimals : int
        Digits after the decimal separator (>= 0); rounding is half away
        from zero (0.125 -> 0.13).
    lang : {"vi", "en"}
        ``"vi"``: ``1.234,5``; ``"en"``: ``1,234.5``. Negatives use ASCII ``-``.

    Returns
    -------
    str
        The formatted number.

    Raises
    ------
    ValueError
        For an unknown language or negative ``decimals``.
    """
    _check_lang(lang)
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    number = _as_float(value)
    if number is None:
        return EN_DASH
    # str() gives the shortest repr, so 1.005 rounds as written, not as 1.00499...
    exact = Decimal(str(value)) if isinstance(value, (int, np.integer)) else Decimal(repr(number))
    with localcontext() as context:  # room for every digit: 1e28 has more than the default 28
        context.prec = max(28, exact.adjusted() + decimals + 2)
        rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0,00"
    text = format(rounded, f",.{decimals}f")
    if lang == "vi":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


def legend_labels(classification: Classification, decimals: int, lang: str = "vi", formatter=None) -> list[str]:
    """Return one legend label per class (no-data label excluded).

    Class 0 reads ``"min – b0"`` (just ``"min"`` when both format the same) and
    class ``i > 0`` reads ``"> b(i-1) – b(i)"``: the lower end is exclusive.

    Parameters
    ----------
    classification : Classification
        The result of :func:`build`.
    decimals : int
        Digits after the decimal separator.
    lang : {"vi", "en"}
        Number format language.
    formatter : callable, optional
        ``formatter(value, decimals, lang)``; default :func:`format_number` (a change map
        passes one that writes the sign).

    Returns
    -------
    list of str
        ``len(classification.upper_bounds)`` labels.
    """
    formatter = formatter or format_number
    fmt = [formatter(b, decimals, lang) for b in classification.upper_bounds]
    if classification.method == "manual":
        # Fixed bounds do not depend on the data: the first class is "≤ b0", the last "> b(n-2)".
        return [f"\u2264 {fmt[0]}"] + [f"> {fmt[i - 1]} {EN_DASH} {fmt[i]}" for i in range(1, len(fmt) - 1)] \
            + [f"> {fmt[-2]}"]
    labels = []
    for i, upper in enumerate(fmt):
        if i == 0:
            lower = formatter(classification.min, decimals, lang)
            labels.append(upper if lower == upper else f"{lower} {EN_DASH} {upper}")
        else:
            labels.append(f"> {fmt[i - 1]} {EN_DASH} {upper}")
    return labels


def no_data_label(lang: str = "vi") -> str:
    """Return the legend label for missing data.

    Parameters
    ----------
    lang : {"vi", "en"}
        Language.

    Returns
    -------
    str
        ``"Không có số liệu"`` or ``"No data"``.
    """
    return i18n.text("no_data", _check_lang(lang))
