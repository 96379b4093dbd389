"""A server-rendered SVG chart of NPS values (-100 to +100): bars left or right of zero.

Same rules as :mod:`cueillette.web.charts`: no JavaScript, no inline style, a ``<title>``
and a ``<desc>``, the number written next to each bar, the figures repeated in a table by the
page. A month without answers draws no bar and writes "—".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 480
LABEL_WIDTH = 170
VALUE_SPACE = 44
ROW = 26
BAR = 16
PAD = 6
MAX_LABEL = 22
INK = "#1f2a24"
AXIS = "#8b918c"
UP = "#2f6b4f"
DOWN = "#b42318"


@dataclass(frozen=True)
class NpsBar:
    label: str
    value: int | None
    text: str


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def nps_chart(
    chart_id: str, title: str, bars: Sequence[NpsBar], *, description: str = ""
) -> SafeString:
    height = PAD * 2 + ROW * max(len(bars), 1)
    span = (WIDTH - LABEL_WIDTH - 2 * VALUE_SPACE) / 2  # pixels for 100 points each side
    zero = LABEL_WIDTH + VALUE_SPACE + span
    cid = escape(chart_id)
    parts = [
        f'<svg class="fb-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'id="{cid}" font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description or title)}</desc>',
        f'<line x1="{zero:.1f}" y1="{PAD}" x2="{zero:.1f}" y2="{height - PAD}" '
        f'stroke="{AXIS}" stroke-width="1"/>',
    ]
    for index, bar in enumerate(bars):
        top = PAD + index * ROW
        middle = top + ROW / 2
        parts.append(
            f'<g><text x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="{INK}">{escape(_short(bar.label))}</text>'
        )
        value = bar.value
        if value is None:
            parts.append(
                f'<text x="{zero + 6:.1f}" y="{middle:.1f}" dominant-baseline="middle" '
                f'fill="{AXIS}">{escape(bar.text)}</text></g>'
            )
            continue
        width = max(2.0, abs(value) / 100 * span) if value else 2.0
        x = zero if value >= 0 else zero - width
        color = UP if value >= 0 else DOWN
        parts.append(
            f'<rect x="{x:.1f}" y="{top + (ROW - BAR) / 2:.1f}" width="{width:.1f}" '
            f'height="{BAR}" rx="3" fill="{color}"/>'
        )
        if value >= 0:
            tx, anchor = zero + width + 6, "start"
        else:
            tx, anchor = zero - width - 6, "end"
        parts.append(
            f'<text x="{tx:.1f}" y="{middle:.1f}" text-anchor="{anchor}" '
            f'dominant-baseline="middle" fill="{INK}" font-weight="600">'
            f"{escape(bar.text)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
