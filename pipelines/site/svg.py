"""Charts as inline SVG, rendered here in Python.

Why not a JavaScript chart library: the site must work from `file://` and from any static
host with no request to another host, and the index must load in well under a second. A
step chart and a bar chart are a few hundred lines of SVG text; shipping Vega (~1 MB of
JavaScript per page) to draw them would cost more than everything else on the page, and the
charts would be blank without JavaScript. Tooltips are SVG `<title>` elements, which every
browser shows on hover.

Input: plain Python lists (see `StepSeries`, `Bar`); output: an `<svg>` string.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

# Tableau 10: distinguishable, colour-blind-friendlier than the defaults of most tools.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
# One dash pattern per pricing model, so colour can stay with the provider.
DASHES = {
    "on_demand": "",
    "spot": "6 3",
    "reserved_1y": "2 3",
    "reserved_3y": "8 3 2 3",
    "subscription": "1 2",
    "free": "12 4",
}
# Markers at every change point only while they stay readable; above this a series is a line.
MAX_MARKERS_PER_SERIES = 120
# A chart whose whole history is one instant still needs a visible time axis.
MIN_TIME_SPAN = timedelta(days=2)
# Share of the time span drawn after the latest observation (prices that still hold).
RIGHT_PAD = 0.04


@dataclass
class StepSeries:
    """A step function: `points[i]` holds from its time until the next point's time.

    A value of None is a gap (no offer at that time). `end` is where the last step stops.
    """

    label: str
    provider: str
    pricing_model: str
    points: list[tuple[datetime, float | None]]
    end: datetime
    color: str = ""
    dash: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Bar:
    label: str
    value: float
    note: str = ""
    href: str | None = None


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    step = _nice_step(hi - lo, target)
    # From the step at or below lo to the first step at or above hi: the data fits inside.
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def money(v: float) -> str:
    if v >= 100:
        return f"${v:,.0f}"
    if v >= 1:
        return f"${v:,.2f}"
    return f"${v:.3f}".rstrip("0").rstrip(".") if v else "$0"


def _time_ticks(t0: datetime, t1: datetime) -> list[tuple[datetime, str]]:
    """Calendar-aligned ticks (days, months or years), at most ~8."""
    span = (t1 - t0).total_seconds()
    day = 86400.0
    if span <= 100 * day:
        step_days = next(d for d in (1, 2, 7, 14, 28) if span / day / d <= 8 or d == 28)
        t = datetime(t0.year, t0.month, t0.day, tzinfo=UTC)
        out = []
        while t <= t1:
            if t >= t0:
                out.append((t, t.strftime("%b %d")))
            t += timedelta(days=step_days)
        return out
    months = span / (30.44 * day)
    for step in (1, 2, 3, 6, 12, 24, 60):
        if months / step <= 8:
            break
    out = []
    y, m = t0.year, t0.month
    while True:
        t = datetime(y, m, 1, tzinfo=UTC)
        if t > t1:
            break
        if t >= t0 and ((m - 1) % step == 0 if step < 12 else (m == 1 and y % (step // 12) == 0)):
            out.append((t, str(y) if step >= 12 else t.strftime("%b %Y")))
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return out


def step_chart(
    series: list[StepSeries],
    *,
    width: int = 860,
    height: int = 340,
    y_label: str = "USD per GPU-hour",
    title: str = "",
) -> str:
    """Step lines per series on a shared time axis; y starts at 0 (prices are compared)."""
    left, right, top, bottom = 64, 16, 14, 34
    pw, ph = width - left - right, height - top - bottom
    times = [t for s in series for t, _ in s.points] + [s.end for s in series]
    values = [v for s in series for _, v in s.points if v is not None]
    if not times or not values:
        return '<p class="empty">No price history for this GPU yet.</p>'
    t0, latest = min(times), max(times)
    observed_end = latest
    if latest - t0 < MIN_TIME_SPAN:
        pad = (MIN_TIME_SPAN - (latest - t0)) / 2
        t0, latest = t0 - pad, latest + pad
    # Room after the latest observation, so a price that still holds shows as a step, not
    # as a lone point at the edge.
    t1 = latest + (latest - t0) * RIGHT_PAD
    y_ticks = nice_ticks(0.0, max(values) * 1.08)
    y_max = y_ticks[-1] if y_ticks[-1] > 0 else 1.0
    span = (t1 - t0).total_seconds()

    def x(t: datetime) -> float:
        return left + pw * (t - t0).total_seconds() / span

    def y(v: float) -> float:
        return top + ph * (1 - v / y_max)

    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title or y_label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for v in y_ticks:
        out.append(
            f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{money(v)}</text>'
        )
    for t, label in _time_ticks(t0, t1):
        anchor = "end" if x(t) > left + pw - 30 else "middle"
        out.append(
            f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{top + ph}"/>'
            f'<text class="tick" x="{x(t):.1f}" y="{top + ph + 18}" text-anchor="{anchor}">{escape(label)}</text>'
        )
    out.append(
        f'<text class="axis-label" transform="translate(14 {top + ph / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    for s in series:
        d: list[str] = []
        markers: list[str] = []
        pts = s.points
        for i, (t, v) in enumerate(pts):
            t_next = pts[i + 1][0] if i + 1 < len(pts) else (t1 if s.end >= observed_end else s.end)
            if v is None:
                continue
            xa, xb, yy = x(t), x(max(t_next, t)), y(v)
            prev = pts[i - 1][1] if i > 0 else None
            if prev is None:
                d.append(f"M{xa:.1f} {yy:.1f}")
            else:
                d.append(f"V{yy:.1f}")
            d.append(f"H{xb:.1f}")
            markers.append(
                f'<circle cx="{xa:.1f}" cy="{yy:.1f}" r="3.2" fill="{s.color}">'
                f"<title>{escape(s.label)}: {money(v)} from {t:%Y-%m-%d %H:%M} UTC</title></circle>"
            )
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        attrs = " ".join(f'data-{k}="{escape(v)}"' for k, v in s.extra.items())
        out.append(
            f'<g class="series" data-series="{escape(s.label)}" {attrs}>'
            f'<path d="{"".join(d)}" fill="none" stroke="{s.color}" stroke-width="2"{dash}>'
            f"<title>{escape(s.label)}</title></path>"
        )
        if len(markers) <= MAX_MARKERS_PER_SERIES:
            out.extend(markers)
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def bar_chart(bars: list[Bar], *, unit: str, width: int = 860, title: str = "") -> str:
    """Horizontal bars, one per label, in the given order, value and note beside each."""
    if not bars:
        return '<p class="empty">No offers with this figure.</p>'
    row, left, right, top = 24, 150, 250, 22
    height = top + row * len(bars) + 8
    pw = width - left - right
    ticks = nice_ticks(0.0, max(b.value for b in bars) * 1.02, 4)
    v_max = ticks[-1] or 1.0
    out = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title or unit)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for v in ticks:
        xx = left + pw * v / v_max
        out.append(
            f'<line class="grid" x1="{xx:.1f}" x2="{xx:.1f}" y1="{top - 4}" y2="{height - 6}"/>'
            f'<text class="tick" x="{xx:.1f}" y="{top - 8}" text-anchor="middle">{money(v)}</text>'
        )
    for i, b in enumerate(bars):
        yy = top + i * row
        w = max(pw * b.value / v_max, 1.5)
        label = escape(b.label)
        if b.href:
            label = f'<a href="{escape(b.href)}">{label}</a>'
        out.append(
            f'<g class="bar"><text class="bar-label" x="{left - 8}" y="{yy + 15}" '
            f'text-anchor="end">{label}</text>'
            f'<rect x="{left}" y="{yy + 3}" width="{w:.1f}" height="{row - 8}" rx="2">'
            f"<title>{escape(b.label)}: {money(b.value)} {escape(unit)} ({escape(b.note)})</title>"
            f"</rect>"
            f'<text class="bar-value" x="{left + w + 6:.1f}" y="{yy + 15}">{money(b.value)}'
            f' <tspan class="note">{escape(b.note)}</tspan></text></g>'
        )
    out.append("</svg>")
    return "".join(out)
