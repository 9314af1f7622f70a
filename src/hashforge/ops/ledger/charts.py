"""A server-side SVG bar chart in the style of web/charts.py's line chart: accessible (title,
desc, one <title> per bar), responsive (viewBox), presentation attributes only (no inline CSS)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

W, H = 640, 260
PAD_L, PAD_R, PAD_T, PAD_B = 96, 12, 16, 44


def bar_chart(bars: Sequence[tuple[str, float]], title: str, y_format: Callable[[float], str],
              chart_id: str = "bars", empty_text: str = "No data for this year") -> str:
    """Vertical bars (negative values hang below the zero line)."""
    t_id, d_id = f"{chart_id}-title", f"{chart_id}-desc"
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart" '
            f'aria-labelledby="{t_id} {d_id}" preserveAspectRatio="xMidYMid meet">'
            f'<title id="{t_id}">{escape(title)}</title>')
    if not bars or all(v == 0 for _, v in bars):
        return (f'{head}<desc id="{d_id}">{escape(empty_text)}</desc><text x="{W / 2}" y="{H / 2}" '
                f'text-anchor="middle" fill="currentColor" font-size="16">{escape(empty_text)}</text></svg>')
    hi = max(0.0, *(v for _, v in bars))
    lo = min(0.0, *(v for _, v in bars))
    span = (hi - lo) or 1.0

    def py(v: float) -> float:
        return PAD_T + (hi - v) / span * (H - PAD_T - PAD_B)

    slot = (W - PAD_L - PAD_R) / len(bars)
    width = slot * 0.7
    zero = py(0.0)
    parts = [f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="currentColor" '
             f'stroke-opacity="0.4"/>']
    for v in (hi, lo):
        if v != 0 and abs(py(v) - zero) >= 16:  # a label too close to the zero line would overprint it
            parts.append(f'<text x="{PAD_L - 6}" y="{py(v) + 5:.1f}" text-anchor="end" font-size="14" '
                         f'fill="currentColor">{escape(y_format(v))}</text>')
    parts.append(f'<text x="{PAD_L - 6}" y="{zero + 5:.1f}" text-anchor="end" font-size="14" '
                 f'fill="currentColor">{escape(y_format(0.0))}</text>')
    every = max(1, len(bars) // 12)
    for i, (label, v) in enumerate(bars):
        x = PAD_L + i * slot + (slot - width) / 2
        top, bottom = sorted((py(v), zero))
        colour = "#2f6fde" if v >= 0 else "#c0392b"
        parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{max(bottom - top, 0.5):.1f}" '
                     f'fill="{colour}"><title>{escape(label)}: {escape(y_format(v))}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + width / 2:.1f}" y="{H - 18}" text-anchor="middle" font-size="13" '
                         f'fill="currentColor">{escape(label)}</text>')
    desc = "; ".join(f"{label} {y_format(v)}" for label, v in bars)
    return f'{head}<desc id="{d_id}">{escape(desc)}</desc>{"".join(parts)}</svg>'
