"""SVG bar charts drawn on the server: no JavaScript, readable offline and in a saved file."""
import math
from dataclasses import dataclass
from html import escape
from typing import List, Sequence

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 44  # room for the axis labels
MAX_X_LABELS = 12
MAX_TICKS = 5  # horizontal grid lines above zero, at most


@dataclass
class Series:
    """One colour of bars: a value per label."""

    name: str
    values: Sequence[float]
    css_class: str  # filled in by the page's CSS (`.bar-answered { fill: ... }`)


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *, percent: bool = False) -> str:
    """Stacked bars, one per label; `percent`: values are shares in [0, 1], the axis reads 0-100%."""
    n = max(len(labels), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    step = 0.25 if percent else _step(max(totals, default=0))
    ticks = 4 if percent else max(1, math.ceil(max(totals, default=0) / step))
    top = step * ticks
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar_w = max(slot * 0.8, 1.0)
    parts: List[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for k in range(ticks + 1):  # horizontal grid lines with their values
        value = step * k
        y = TOP + plot_h - plot_h * k / ticks
        text = f"{value:.0%}" if percent else _number(value)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = TOP + plot_h
        for s in series:
            value = s.values[i]
            h = plot_h * value / top if top else 0
            shown = f"{value:.0%}" if percent else _number(value)
            parts.append(
                f'<rect class="bar {s.css_class}" x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}: {escape(s.name)} {shown}</title></rect>"
            )
            base -= h
    step = max(1, -(-len(labels) // MAX_X_LABELS))
    for i in range(0, len(labels), step):
        x = LEFT + slot * i + slot / 2
        parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(labels[i])}</text>')
    legend_x = LEFT
    for s in series if len(series) > 1 else ():
        parts.append(f'<rect class="bar {s.css_class}" x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10"/>')
        parts.append(f'<text class="axis" x="{legend_x + 14}" y="{HEIGHT - 5}">{escape(s.name)}</text>')
        legend_x += 16 + 8 * len(s.name)
    if not labels:
        parts.append(f'<text class="axis" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No data yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def _step(value: float) -> int:
    """Between grid lines: the smallest of 1, 2, 5, 10, 20, 50, ... that needs at most MAX_TICKS lines."""
    step = 1
    while value / step > MAX_TICKS:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return step


def _number(value: float) -> str:
    return f"{value:g}" if value < 10 else f"{value:.0f}"
