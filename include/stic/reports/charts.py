"""A small hand-written SVG chart renderer: bar, stacked-bar and heatmap charts as inline, accessible SVG.

Every chart is an <svg role="img"> with a <title> and <desc>, and a <title> on each bar (shown as a
tooltip by browsers and read by screen readers). The pages put a data table beside each chart.
Labels are escaped here, so a chart is safe to insert with `|safe` / Markup.
"""

from __future__ import annotations

import math
from itertools import count

from markupsafe import Markup, escape

# Colour-blind-safe palette (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_ids = count(1)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _ticks(top: float, n: int = 4) -> list[float]:
    return [top * i / n for i in range(n + 1)]


def _fmt(v: float) -> str:
    if v == int(v):
        return f"{int(v):,}"
    return f"{v:,.1f}"


def _frame(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    uid = f"chart{next(_ids)}"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-labelledby="{uid}-t {uid}-d">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def _axes(body, left, top, plot_w, plot_h, ymax, unit):
    for t in _ticks(ymax):
        y = top + plot_h - plot_h * t / ymax
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#444">'
                    f'{escape(_fmt(t))}</text>')
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#888"/>')
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#888"/>')
    if unit:
        body.append(f'<text x="{left}" y="{top - 8}" font-size="11" fill="#444">{escape(unit)}</text>')


def bar_chart(labels: list[str], values: list[float], *, title: str, desc: str = "", unit: str = "",
              ymax: float | None = None, bar_titles: list[str] | None = None, color: str = PALETTE[0],
              width: int = 720, height: int = 260) -> Markup:
    """One bar per label. `bar_titles` are the tooltips (default 'label: value')."""
    left, right, top, bottom = 56, 12, 24, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_v = ymax if ymax is not None else _nice_max(max([float(v) for v in values] or [0]))
    body: list[str] = []
    _axes(body, left, top, plot_w, plot_h, top_v, unit)
    n = max(len(values), 1)
    slot = plot_w / n
    bw = max(min(slot * 0.7, 48), 2)
    every = max(1, math.ceil(n / 16))  # at most ~16 x labels
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        v = float(v)
        h = plot_h * min(v, top_v) / top_v
        x = left + slot * i + (slot - bw) / 2
        tip = bar_titles[i] if bar_titles else f"{label}: {_fmt(v)}{(' ' + unit) if unit else ''}"
        body.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                    f'fill="{color}"><title>{escape(tip)}</title></rect>')
        if i % every == 0:
            body.append(f'<text x="{x + bw / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                        f'fill="#222">{escape(label)}</text>')
    return _frame(width, height, title, desc, body)


def stacked_bar_chart(categories: list[str], series: dict[str, list[float]], *, title: str, desc: str = "",
                      unit: str = "", labels: dict[str, str] | None = None, width: int = 720,
                      height: int = 300) -> Markup:
    """One bar per category, one coloured segment per series (in the dict's order), with a legend."""
    labels = labels or {}
    left, right, top, bottom = 64, 12, 24, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(float(s[i] or 0) for s in series.values()) for i in range(len(categories))]
    top_v = _nice_max(max(totals or [0]))
    body: list[str] = []
    _axes(body, left, top, plot_w, plot_h, top_v, unit)
    n = max(len(categories), 1)
    slot = plot_w / n
    bw = max(min(slot * 0.7, 56), 2)
    for i, cat in enumerate(categories):
        x = left + slot * i + (slot - bw) / 2
        y = top + plot_h
        for j, (name, vals) in enumerate(series.items()):
            v = float(vals[i] or 0)
            if v <= 0:
                continue
            h = plot_h * v / top_v
            y -= h
            tip = f"{cat} · {labels.get(name, name)}: {_fmt(v)}{(' ' + unit) if unit else ''}"
            body.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                        f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(tip)}</title></rect>')
        body.append(f'<text x="{x + bw / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                    f'fill="#222">{escape(cat)}</text>')
    lx, ly = left, height - 22
    for j, name in enumerate(series):
        body.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>')
        text = labels.get(name, name)
        body.append(f'<text x="{lx + 16}" y="{ly}" font-size="12" fill="#222">{escape(text)}</text>')
        lx += 24 + 7 * len(text)
    return _frame(width, height, title, desc, body)


def _shade(share: float, color: str) -> str:
    """`color` at `share` (0..1) of its strength over a near-white ground."""
    lo = (0xF2, 0xF7, 0xFB)
    hi = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    s = max(0.0, min(1.0, share))
    return "#" + "".join(f"{round(a + (b - a) * s):02x}" for a, b in zip(lo, hi, strict=True))


def heatmap(rows: list[str], columns: list[str], values: list[list[float | None]], *, title: str, desc: str = "",
            unit: str = "", cell_titles: list[list[str]] | None = None, color: str = PALETTE[0],
            label_width: int = 96, max_width: int = 760) -> Markup:
    """A grid of shaded cells: one row per label (e.g. a district, in Chinese), one column per category (e.g. a
    year). A None value is 'no data' (grey, no number), which a 0 is not. `cell_titles` are the tooltips."""
    n_cols = max(len(columns), 1)
    cw = max(28.0, min(56.0, (max_width - label_width - 12) / n_cols))
    ch, top = 22, 40
    top_v = max([float(v) for line in values for v in line if v is not None] or [0.0]) or 1.0
    legend = (("0", _shade(0.0, color)), (_fmt(top_v / 2), _shade(0.54, color)), (_fmt(top_v), _shade(1.0, color)),
              ("no data", "#e4e4e4"))
    legend_w = sum(28 + 7 * len(text) for text, _ in legend)
    width = int(label_width + max(cw * n_cols, legend_w, 7 * len(unit)) + 12)
    height = top + ch * len(rows) + 40
    body: list[str] = []
    if unit:
        body.append(f'<text x="{label_width}" y="14" font-size="11" fill="#444">{escape(unit)}</text>')
    for j, col in enumerate(columns):
        body.append(f'<text x="{label_width + cw * j + cw / 2:.1f}" y="{top - 6}" text-anchor="middle" font-size="11" '
                    f'fill="#222">{escape(col)}</text>')
    for i, (label, line) in enumerate(zip(rows, values, strict=True)):
        y = top + ch * i
        body.append(f'<text class="row-label" x="{label_width - 6}" y="{y + ch / 2 + 4:.1f}" text-anchor="end" '
                    f'font-size="12" fill="#222">{escape(label)}</text>')
        for j, v in enumerate(line):
            x = label_width + cw * j
            share = None if v is None else float(v) / top_v
            fill = "#e4e4e4" if share is None else _shade(0.08 + 0.92 * share if v else 0.0, color)
            tip = (cell_titles[i][j] if cell_titles else
                   f"{label} · {columns[j]}: " + ("no data" if v is None else f"{_fmt(float(v))} {unit}".strip()))
            body.append(f'<rect class="cell" x="{x:.1f}" y="{y}" width="{cw - 1:.1f}" height="{ch - 1}" fill="{fill}">'
                        f'<title>{escape(tip)}</title></rect>')
            if v is not None:
                ink = "#fff" if share > 0.55 else "#222"
                body.append(f'<text x="{x + cw / 2 - 0.5:.1f}" y="{y + ch / 2 + 3.5:.1f}" text-anchor="middle" '
                            f'font-size="10" fill="{ink}" pointer-events="none">{escape(_short(float(v)))}</text>')
    ly = top + ch * len(rows) + 20
    lx = label_width
    for text, fill in legend:
        body.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{fill}" stroke="#ccc"/>')
        body.append(f'<text x="{lx + 16}" y="{ly}" font-size="11" fill="#222">{escape(text)}</text>')
        lx += 28 + 7 * len(text)
    return _frame(width, height, title, desc, body)


def _short(v: float) -> str:
    """A number that fits in a cell: 12, 3.4, 12k, 1.2M."""
    for div, suffix, from_ in ((1e9, "G", 1e9), (1e6, "M", 1e6), (1e3, "k", 1e4)):
        if abs(v) >= from_:
            return f"{v / div:.1f}".rstrip("0").rstrip(".") + suffix
    if 0 < abs(v) < 0.05:
        return "<0.1"  # not 0: something is there
    return _fmt(v)
