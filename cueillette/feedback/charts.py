"""A server-rendered SVG chart of NPS values (-100 to +100): bars left or right of zero.

Same rules as :mod:`cueillette.web.charts`: no JavaScript, no inline style, a ``<title>``
and a ``<desc>``, the number written next to each bar, the figures repeated in a table by the
page. A month without answers draws no bar and writes "—".

The label column is as wide as the longest label needs (measured with the widths of a wide
sans-serif font, so that no label is cut whatever font the browser picks), between
:data:`LABEL_MIN` and :data:`LABEL_MAX`; only a label longer than :data:`LABEL_MAX` wraps, on
two lines at most, and only what still does not fit ends with "…". The drawing is scaled by
its ``viewBox`` (``width: 100%`` in the page's CSS), so it fits a phone as it fits a desktop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT_SIZE = 13
# The label column: its text ends GAP before the bars' area and starts LABEL_MARGIN after the
# left edge; the column is between LABEL_MIN and LABEL_MAX wide (margins included).
LABEL_MIN = 80
LABEL_MAX = 300
LABEL_MARGIN = 6
GAP = 8
VALUE_SPACE = 44
SPAN = 95  # pixels for 100 points on each side of zero
PLOT_WIDTH = 2 * (VALUE_SPACE + SPAN)
ROW = 26
ROW_TWO_LINES = 40
LINE = 15
BAR = 16
PAD = 6
MAX_LINES = 2
INK = "#1f2a24"
AXIS = "#8b918c"
UP = "#2f6b4f"
DOWN = "#b42318"

# Advance widths in em of DejaVu Sans (one of the widest sans-serif fonts, the usual
# system-ui fallback on Linux), by class of character, rounded up; capitals and any other
# character count as 0.72 em.
_NARROW = frozenset(" .,:;'\u2019!|ijlIJîïì")
_THIN = frozenset("-ft()[]r/")
_LOWER = 0.62
_UPPER = 0.72
_WIDE = frozenset("mwMW%@")


@dataclass(frozen=True)
class NpsBar:
    label: str
    value: int | None
    text: str


def char_width(ch: str) -> float:
    """The advance width of one character in em (an upper bound for common sans fonts)."""
    if ch in _NARROW:
        return 0.32
    if ch in _THIN:
        return 0.41
    if ch in _WIDE:
        return 1.0
    if ch.isdigit() or (ch.isalpha() and ch.islower()):
        return _LOWER
    return _UPPER


def text_width(text: str, size: int = FONT_SIZE) -> float:
    """The width of ``text`` in pixels at ``size``, rounded up generously."""
    return sum(char_width(ch) for ch in text) * size


def _fit(text: str, width: float) -> str:
    """``text`` cut with "…" so that it fits in ``width`` pixels."""
    if text_width(text) <= width:
        return text
    out = text
    while out and text_width(out + "…") > width:
        out = out[:-1]
    return out.rstrip() + "…"


def wrap_label(label: str, width: float, max_lines: int = MAX_LINES) -> list[str]:
    """The label on as few lines as fit ``width`` (words kept whole), ``max_lines`` at most;
    the last line ends with "…" if some text is still left over."""
    label = " ".join(label.split())
    if text_width(label) <= width:
        return [label]
    lines: list[str] = []
    words = label.split(" ")
    current = ""
    while words:
        word = words[0]
        candidate = f"{current} {word}" if current else word
        if text_width(candidate) <= width:
            current = candidate
            words.pop(0)
            continue
        if not current:  # one word longer than the line: cut it
            lines.append(_fit(word, width))
            words.pop(0)
        else:
            lines.append(current)
            current = ""
        if len(lines) == max_lines:
            break
    if current and len(lines) < max_lines:
        lines.append(current)
        current = ""
    rest = " ".join(([current] if current else []) + words)
    if rest:
        lines[-1] = _fit(f"{lines[-1]} {rest}", width)
    return lines


def label_column(labels: Sequence[str]) -> int:
    """The width of the label column: what the longest label needs, within the limits."""
    longest = max((text_width(" ".join(label.split())) for label in labels), default=0.0)
    needed = math.ceil(longest) + LABEL_MARGIN + GAP
    return max(LABEL_MIN, min(LABEL_MAX, needed))


def nps_chart(
    chart_id: str, title: str, bars: Sequence[NpsBar], *, description: str = ""
) -> SafeString:
    label_width = label_column([b.label for b in bars])
    text_room = label_width - LABEL_MARGIN - GAP
    labels = [wrap_label(b.label, text_room) for b in bars]
    row = ROW_TWO_LINES if any(len(lines) > 1 for lines in labels) else ROW
    width = label_width + PLOT_WIDTH
    height = PAD * 2 + row * max(len(bars), 1)
    zero = label_width + VALUE_SPACE + SPAN
    cid = escape(chart_id)
    parts = [
        f'<svg class="fb-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'id="{cid}" font-family="system-ui, sans-serif" font-size="{FONT_SIZE}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description or title)}</desc>',
        f'<line x1="{zero:.1f}" y1="{PAD}" x2="{zero:.1f}" y2="{height - PAD}" '
        f'stroke="{AXIS}" stroke-width="1"/>',
    ]
    label_x = label_width - GAP
    for index, (bar, lines) in enumerate(zip(bars, labels, strict=True)):
        top = PAD + index * row
        middle = top + row / 2
        first = middle - (len(lines) - 1) * LINE / 2
        spans = "".join(
            f'<tspan x="{label_x}" y="{first + n * LINE:.1f}" dominant-baseline="middle">'
            f"{escape(line)}</tspan>"
            for n, line in enumerate(lines)
        )
        whole = " ".join(bar.label.split())
        full = "" if lines == [whole] else f"<title>{escape(whole)}</title>"
        parts.append(
            f'<g><text x="{label_x}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="{INK}">{full}{spans}</text>'
        )
        value = bar.value
        if value is None:
            parts.append(
                f'<text x="{zero + 6:.1f}" y="{middle:.1f}" dominant-baseline="middle" '
                f'fill="{AXIS}">{escape(bar.text)}</text></g>'
            )
            continue
        length = max(2.0, abs(value) / 100 * SPAN) if value else 2.0
        x = zero if value >= 0 else zero - length
        color = UP if value >= 0 else DOWN
        parts.append(
            f'<rect x="{x:.1f}" y="{top + (row - BAR) / 2:.1f}" width="{length:.1f}" '
            f'height="{BAR}" rx="3" fill="{color}"/>'
        )
        if value >= 0:
            tx, anchor = zero + length + 6, "start"
        else:
            tx, anchor = zero - length - 6, "end"
        parts.append(
            f'<text x="{tx:.1f}" y="{middle:.1f}" text-anchor="{anchor}" '
            f'dominant-baseline="middle" fill="{INK}" font-weight="600">'
            f"{escape(bar.text)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
