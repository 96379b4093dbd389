"""Monthly referral figures as inline SVG (loyalty's bar charts) plus their data tables."""

from __future__ import annotations

from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from cueillette.referrals.queries import Month
from cueillette.web.charts import Bar, bar_chart


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{formats.number_format(round(100 * value), 0)} %"


def _ratio(value: float | None) -> str:
    return "—" if value is None else formats.number_format(round(value, 2), 2)


def monthly_charts(months: list[Month]) -> list[dict[str, Any]]:
    def label(m: Month) -> str:
        return formats.date_format(m.month, "YEAR_MONTH_FORMAT")

    specs = [
        (
            "share",
            _("New customers who came by word of mouth"),
            _("Share of the month's new customers who came with a referral."),
            [(label(m), round(100 * (m.share or 0)), _pct(m.share)) for m in months],
        ),
        (
            "conversion",
            _("Referral conversion rate"),
            _("Referrals recorded in the month that are now confirmed (a first purchase)."),
            [(label(m), round(100 * (m.conversion or 0)), _pct(m.conversion)) for m in months],
        ),
        (
            "viral",
            _("Viral coefficient"),
            _(
                "Friends brought so far by the customers who joined that month, per new "
                "customer. Recent months are naturally lower: their friends are still to come."
            ),
            [(label(m), round(100 * (m.viral or 0)), _ratio(m.viral)) for m in months],
        ),
    ]
    charts = []
    for chart_id, title, description, rows in specs:
        bars = [Bar(label=lbl, value=value, text=text) for lbl, value, text in rows]
        charts.append(
            {
                "id": f"chart-{chart_id}",
                "title": title,
                "description": description,
                "svg": bar_chart(f"chart-{chart_id}", title, bars, description=description),
                "rows": [(lbl, text) for lbl, _v, text in rows],
                "empty": not any(value for _l, value, _t in rows),
            }
        )
    return charts
