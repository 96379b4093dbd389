"""Server-rendered SVG bar charts: no JavaScript, no third-party file, no inline style.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and ``<desc>``, with the label
of each bar on its left and its number written after it; colours are SVG presentation
attributes (allowed by ``style-src 'self'``). Pages put the same figures in a data table
right under the chart for whoever cannot see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 440
# Room for MAX_LABEL characters of a 13 px system font (about 8 px each).
LABEL_WIDTH = 150
VALUE_SPACE = 64
ROW = 26
BAR = 16
PAD = 6
MAX_LABEL = 17
INK = "#1f2a24"
BRAND = "#2f6b4f"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | Decimal
    text: str  # the number as written next to the bar (localised by the caller)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def bar_chart(
    chart_id: str, title: str, bars: Sequence[Bar], *, description: str = "", color: str = BRAND
) -> SafeString:
    """A horizontal bar chart. Negative values draw no bar (their number is still written)."""
    height = PAD * 2 + ROW * max(len(bars), 1)
    peak = max((b.value for b in bars if b.value > 0), default=0)
    span = WIDTH - LABEL_WIDTH - VALUE_SPACE
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'id="{escape(chart_id)}" font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description or title)}</desc>',
    ]
    for index, bar in enumerate(bars):
        top = PAD + index * ROW
        middle = top + ROW / 2
        width = 0.0
        if peak > 0 and bar.value > 0:
            width = max(2.0, float(Decimal(bar.value) / Decimal(peak)) * span)
        parts.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.text)}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="{INK}">{escape(_short(bar.label))}</text>'
        )
        if width:
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{top + (ROW - BAR) / 2:.1f}" width="{width:.1f}" '
                f'height="{BAR}" rx="3" fill="{escape(color)}"/>'
            )
        parts.append(
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle" fill="{INK}" font-weight="600">'
            f"{escape(bar.text)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
