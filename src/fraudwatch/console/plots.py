"""Plots drawn on the server as SVG: no script, no library, nothing fetched by the browser,
so they render inside closed networks and in any browser. Colours come from the console's
stylesheet (classes ``s0`` ... ``s7`` and the outcome names), every text is escaped, and
each plot says how many data marks it drew (``data-marks``) so a test can tell an empty
plot from a drawn one.

>>> svg = time_lines({"block": [(0, 1), (60, 3)], "allow": [(0, 10), (60, 12)]}, 0, 60, "UTC",
...                  title="decisions")
>>> svg.startswith("<svg") and 'data-marks="4"' in svg
True
>>> empty = bars(["a"], {"x": [0]}, title="<script>")
>>> 'data-marks="0"' in empty and "&lt;script&gt;" in empty and "<script>" not in empty
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape

from fraudwatch.console.i18n import zone

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44


def _frame(title: str, marks: int, body: list[str], legend: list[tuple[str, str]], empty_text: str) -> str:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="plot" role="img"'
        f' data-marks="{marks}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    out.extend(body)
    if marks == 0:
        out.append(f'<text class="empty" x="{W / 2}" y="{H / 2}">{escape(empty_text)}</text>')
    x, y = LEFT, 8
    for css, name in legend[:12]:
        width = 24 + 6.5 * len(name)
        if x > LEFT and x + width > W - RIGHT:  # next row, over the plot's top grid line
            x, y = LEFT, y + 14
        out.append(f'<rect class="key {css}" x="{x:.0f}" y="{y}" width="10" height="10"/>')
        out.append(f'<text class="legend" x="{x + 14:.0f}" y="{y + 9}">{escape(name)}</text>')
        x += width
    out.append("</svg>")
    return "".join(out)


def nice_max(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis.

    >>> nice_max(0), nice_max(7), nice_max(13), nice_max(0.42)
    (1.0, 10.0, 20.0, 0.5)
    """
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value == int(value):
        return str(int(value))
    return f"{value:.2g}"


def _y_axis(top: float, unit: str, sqrt: bool = False) -> list[str]:
    out = []
    for i in range(5):
        v = top * (i / 4) ** 2 if sqrt else top * i / 4
        y = H - BOTTOM - (H - TOP - BOTTOM) * i / 4
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick y" x="{LEFT - 6}" y="{y + 4:.1f}">{escape(_fmt(v))}</text>')
    if unit:
        out.append(f'<text class="unit" x="{LEFT}" y="{H - 6}">{escape(unit)}</text>')
    return out


def _time_ticks(start: float, end: float, timezone: str) -> list[str]:
    span = max(1.0, end - start)
    for step in (600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400):
        if span / step <= 8:
            break
    tz = zone(timezone)
    offset = datetime.fromtimestamp(start, tz).utcoffset()
    shift = offset.total_seconds() if offset else 0.0
    first = math.ceil((start + shift) / step) * step - shift
    out = []
    t = first
    while t <= end:
        x = LEFT + (W - LEFT - RIGHT) * (t - start) / span
        when = datetime.fromtimestamp(t, tz)
        label = when.strftime("%m-%d") if step >= 86400 else when.strftime("%m-%d %H:%M")
        out.append(f'<line class="tick-mark" x1="{x:.1f}" y1="{H - BOTTOM}" x2="{x:.1f}" y2="{H - BOTTOM + 4}"/>')
        out.append(f'<text class="tick x" x="{x:.1f}" y="{H - BOTTOM + 16}">{escape(label)}</text>')
        t += step
    return out


def time_lines(
    series: dict[str, Sequence[tuple[float, float]]],
    start: float,
    end: float,
    timezone: str,
    *,
    title: str,
    unit: str = "",
    names: dict[str, str] | None = None,
    classes: dict[str, str] | None = None,
    empty_text: str = "no data in this range",
) -> str:
    """One line per series over event time ``[start, end]``."""
    names = names or {}
    top = nice_max(max((y for points in series.values() for _, y in points), default=0))
    span = max(1.0, end - start)
    body = _y_axis(top, unit) + _time_ticks(start, end, timezone)
    legend = []
    marks = 0
    for i, (key, points) in enumerate(series.items()):
        css = (classes or {}).get(key, f"s{i % 8}")
        legend.append((css, names.get(key, key)))
        if not points:
            continue
        coords = " ".join(
            f"{LEFT + (W - LEFT - RIGHT) * (x - start) / span:.1f},{H - BOTTOM - (H - TOP - BOTTOM) * y / top:.1f}"
            for x, y in points
        )
        body.append(f'<polyline class="line {css}" points="{coords}"><title>{escape(names.get(key, key))}</title>')
        body.append("</polyline>")
        marks += len(points)
    return _frame(title, marks, body, legend, empty_text)


def bars(
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    unit: str = "",
    names: dict[str, str] | None = None,
    classes: dict[str, str] | None = None,
    stacked: bool = True,
    empty_text: str = "no data in this range",
) -> str:
    """Bars per category, one colour per series (stacked, or side by side)."""
    names = names or {}
    n = max(1, len(categories))
    if stacked:
        top = nice_max(max((sum(s[i] for s in series.values()) for i in range(len(categories))), default=0))
    else:
        top = nice_max(max((v for s in series.values() for v in s), default=0))
    body = _y_axis(top, unit)
    slot = (W - LEFT - RIGHT) / n
    every = max(1, math.ceil(n / 12))
    for i, category in enumerate(categories):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            body.append(f'<text class="tick x" x="{x:.1f}" y="{H - BOTTOM + 16}">{escape(category)}</text>')
    legend = []
    marks = 0
    base = [0.0] * len(categories)
    keys = list(series)
    for j, key in enumerate(keys):
        css = (classes or {}).get(key, f"s{j % 8}")
        legend.append((css, names.get(key, key)))
        for i, v in enumerate(series[key]):
            if not v:
                continue
            height = (H - TOP - BOTTOM) * v / top
            if stacked:
                x, width = LEFT + slot * i + slot * 0.15, slot * 0.7
                y = H - BOTTOM - (H - TOP - BOTTOM) * base[i] / top - height
                base[i] += v
            else:
                width = slot * 0.7 / max(1, len(keys))
                x = LEFT + slot * i + slot * 0.15 + width * j
                y = H - BOTTOM - height
            label = f"{names.get(key, key)} · {categories[i]}: {_fmt(v)}"
            body.append(
                f'<rect class="bar {css}" x="{x:.1f}" y="{y:.1f}" width="{max(width, 1):.1f}" height="{height:.1f}">'
                f"<title>{escape(label)}</title></rect>"
            )
            marks += 1
    return _frame(title, marks, body, legend, empty_text)


def histogram(
    edges: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    unit: str = "",
    names: dict[str, str] | None = None,
    classes: dict[str, str] | None = None,
    normalise: bool = True,
    sqrt: bool = True,
    empty_text: str = "no data in this range",
) -> str:
    """Overlaid step outlines of several distributions over the same bins (each as a share
    of its own total when ``normalise``, so a rare class is as visible as a common one), on
    a square-root scale by default, so a bin of 1 % is visible beside one of 90 %."""
    names = names or {}
    shaped = {}
    for key, counts in series.items():
        total = sum(counts)
        shaped[key] = [c / total for c in counts] if normalise and total else list(counts)
    top = nice_max(max((v for s in shaped.values() for v in s), default=0))
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    body = _y_axis(top, unit, sqrt)
    for i in range(0, len(edges), max(1, (len(edges) - 1) // 5)):
        x = LEFT + (W - LEFT - RIGHT) * (edges[i] - lo) / span
        body.append(f'<text class="tick x" x="{x:.1f}" y="{H - BOTTOM + 16}">{escape(_fmt(edges[i]))}</text>')
    legend = []
    marks = 0
    for j, (key, values) in enumerate(shaped.items()):
        css = (classes or {}).get(key, f"s{j % 8}")
        legend.append((css, f"{names.get(key, key)} ({_fmt(sum(series[key]))})"))
        if not any(values):
            continue
        points = []
        for i, v in enumerate(values):
            x0 = LEFT + (W - LEFT - RIGHT) * (edges[i] - lo) / span
            x1 = LEFT + (W - LEFT - RIGHT) * (edges[i + 1] - lo) / span
            height = (v / top) ** 0.5 if sqrt else v / top
            y = H - BOTTOM - (H - TOP - BOTTOM) * height
            points.append(f"{x0:.1f},{y:.1f} {x1:.1f},{y:.1f}")
            marks += 1 if v else 0
        body.append(f'<polyline class="step {css}" points="{" ".join(points)}"/>')
    return _frame(title, marks, body, legend, empty_text)
