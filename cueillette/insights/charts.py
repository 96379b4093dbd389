"""Charts of the insights pages: server-rendered SVG (``web.charts`` bars and a paired-bar
chart for the model check), each with the same figures as a table on the page. No script,
no inline style: colours are SVG presentation attributes; heat maps are table cells with
classes from our own stylesheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from cueillette.web.charts import BRAND, INK

ACTUAL = "#8a4b14"
WIDTH = 440
LABEL = 110
ROW = 40
BAR = 13


@dataclass(frozen=True)
class Pair:
    label: str
    first: float
    second: float
    first_text: str
    second_text: str


def paired_bars(
    chart_id: str,
    title: str,
    pairs: Sequence[Pair],
    *,
    description: str,
    first_name: str,
    second_name: str,
) -> SafeString:
    """Two horizontal bars per row (predicted in green, actual in brown), numbers written."""
    legend = 28
    height = legend + 8 + ROW * max(len(pairs), 1)
    peak = max([p.first for p in pairs] + [p.second for p in pairs] + [0.0])
    span = WIDTH - LABEL - 70
    cid = escape(chart_id)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'id="{cid}" font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
        f'<rect x="{LABEL}" y="6" width="12" height="12" fill="{BRAND}"/>'
        f'<text x="{LABEL + 18}" y="16" fill="{INK}">{escape(first_name)}</text>'
        f'<rect x="{LABEL + 150}" y="6" width="12" height="12" fill="{ACTUAL}"/>'
        f'<text x="{LABEL + 168}" y="16" fill="{INK}">{escape(second_name)}</text>',
    ]
    for i, p in enumerate(pairs):
        top = legend + 8 + i * ROW
        parts.append(
            f"<g><title>{escape(p.label)}: {escape(first_name)} {escape(p.first_text)}, "
            f"{escape(second_name)} {escape(p.second_text)}</title>"
            f'<text x="{LABEL - 8}" y="{top + ROW / 2:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="{INK}">{escape(p.label)}</text>'
        )
        for j, (value, text, color) in enumerate(
            ((p.first, p.first_text, BRAND), (p.second, p.second_text, ACTUAL))
        ):
            y = top + 4 + j * (BAR + 3)
            width = max(2.0, value / peak * span) if peak > 0 and value > 0 else 0.0
            if width:
                parts.append(
                    f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" rx="2" '
                    f'fill="{color}"/>'
                )
            parts.append(
                f'<text x="{LABEL + width + 5:.1f}" y="{y + BAR / 2:.1f}" '
                f'dominant-baseline="middle" fill="{INK}" font-size="12">{escape(text)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))


def heat_class(share: float | None) -> str:
    """The class of a retention cell: ten steps of the brand colour (``heat-0``..``heat-9``)."""
    if share is None:
        return "heat-none"
    return f"heat-{min(9, max(0, int(share * 10)))}"
