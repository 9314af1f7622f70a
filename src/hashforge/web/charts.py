"""Server-side SVG line charts: accessible (role, title, desc), responsive (viewBox), styled by
presentation attributes only (the page's CSP forbids inline style)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

W, H = 640, 240
PAD_L, PAD_R, PAD_T, PAD_B = 118, 16, 16, 40


def line_chart(
    points: Sequence[tuple[float, float]],
    title: str,
    y_format: Callable[[float], str],
    x_format: Callable[[float], str] = lambda x: f"{x:.0f}",
    empty_text: str = "No data yet",
    chart_id: str = "chart",
    *,
    allow_negative: bool = False,
    series2: Sequence[tuple[float, float]] | None = None,
    series2_label: str = "",
) -> str:
    """An SVG line chart of (x, y) points, x ascending. `allow_negative` lets the y axis go below
    zero (and draws the zero line); `series2` is a second, dashed line on the same axes."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart" '
        f'aria-labelledby="{title_id} {desc_id}" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{title_id}">{escape(title)}</title>'
    )
    if len(points) < 2:
        return (
            f'{head}<desc id="{desc_id}">{escape(empty_text)}</desc>'
            f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" fill="currentColor" font-size="16">'
            f"{escape(empty_text)}</text></svg>"
        )
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    extra = list(series2 or ())
    all_ys = ys + [p[1] for p in extra]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(all_ys), max(all_ys)
    floor = min(y0, 0.0) if allow_negative else 0.0
    if y1 == y0:
        y0, y1 = (min(y0 * 0.9, y0 * 1.1), max(y1 * 0.9, y1 * 1.1)) if y0 else (0.0, 1.0)
    else:
        pad = (y1 - y0) * 0.08
        y0, y1 = max(floor, y0 - pad), y1 + pad
    if x1 == x0:
        x1 = x0 + 1

    def px(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R)

    def py(y: float) -> float:
        return H - PAD_B - (y - y0) / (y1 - y0) * (H - PAD_T - PAD_B)

    line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
    second = ""
    if len(extra) >= 2:
        second = (f'<polyline points="{" ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in extra)}" fill="none" '
                  f'stroke="#d9822b" stroke-width="2" stroke-dasharray="6 4"/>')
    zero = ""
    if allow_negative and y0 < 0 < y1:
        zero = (f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{py(0.0):.1f}" y2="{py(0.0):.1f}" stroke="currentColor" '
                f'stroke-opacity="0.6" stroke-width="1.5"/>')
    area = f"{px(xs[0]):.1f},{py(y0):.1f} {line} {px(xs[-1]):.1f},{py(y0):.1f}"
    desc = (
        f"{len(points)} points from {x_format(xs[0])} to {x_format(xs[-1])}; "
        f"lowest {y_format(min(ys))}, highest {y_format(max(ys))}, latest {y_format(ys[-1])}."
    )
    if len(extra) >= 2 and series2_label:
        desc += f" Dashed: {series2_label}."
    grid = []
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + (y1 - y0) * frac
        yy = py(yv)
        grid.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="currentColor" '
            f'stroke-opacity="0.15"/>'
            f'<text x="{PAD_L - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="15" fill="currentColor">'
            f"{escape(y_format(yv))}</text>"
        )
    labels = (
        f'<text x="{PAD_L}" y="{H - 12}" font-size="15" fill="currentColor">{escape(x_format(xs[0]))}</text>'
        f'<text x="{W - PAD_R}" y="{H - 12}" text-anchor="end" font-size="15" fill="currentColor">'
        f"{escape(x_format(xs[-1]))}</text>"
    )
    return (
        f'{head}<desc id="{desc_id}">{escape(desc)}</desc>{"".join(grid)}{labels}'
        f'<polygon points="{area}" fill="#2f6fde" fill-opacity="0.12"/>'
        f'{zero}{second}'
        f'<polyline points="{line}" fill="none" stroke="#2f6fde" stroke-width="2.5" stroke-linejoin="round"/>'
        f'<circle cx="{px(xs[-1]):.1f}" cy="{py(ys[-1]):.1f}" r="4" fill="#2f6fde"/></svg>'
    )
