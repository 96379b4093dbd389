"""Program pages (owner/manager): settings, rewards, tiers, simulate, and the owner's view.

They only translate: parse, access, call one service (or one read), render.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.core.money import format_money
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access, current_org
from cueillette.customers.export import safe_cell
from cueillette.loyalty import queries, services, settings_services
from cueillette.loyalty.forms import ProgramForm, RewardForm, SimulateForm, TierForm
from cueillette.loyalty.models import Card, CardStatus, Reward, Tier
from cueillette.web.charts import Bar, bar_chart

CSV_DELIMITER = ";"


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request)


def _tier_names() -> dict[str, str]:
    return {t.code: t.name for t in Tier.objects.all()}


def _int(n: int) -> str:
    return formats.number_format(n, use_l10n=True, force_grouping=True)


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


# --------------------------------------------------------------------------- settings


@staff_required(Perm.MANAGE_PROGRAM)
def program_settings(request: HttpRequest) -> HttpResponse:
    program = services.get_program()
    status = 200
    if request.method == "POST":
        form = ProgramForm(request.POST)
        form.is_valid()  # lenient fields: the service validates
        try:
            settings_services.update_program(form.service_data(), actor=_actor(request))
        except ServiceError as exc:
            form.add_service_errors(exc)
            status = 400
        else:
            messages.success(request, _("The program settings were saved."))
            return redirect("loyalty:program_settings")
    else:
        form = ProgramForm.for_program(program)
    return render(
        request,
        "loyalty/program/settings.html",
        {"form": form, "program": program, "section": "settings"},
        status=status,
    )


# --------------------------------------------------------------------------- rewards


@staff_required(Perm.MANAGE_PROGRAM)
def reward_list(request: HttpRequest) -> HttpResponse:
    rewards = Reward.objects.annotate(taken=Count("redemptions")).order_by("-active", "cost")
    return render(
        request,
        "loyalty/program/rewards.html",
        {"rewards": rewards, "tier_names": _tier_names(), "section": "rewards"},
    )


def _reward_form_page(
    request: HttpRequest, form: RewardForm, reward: Reward | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "loyalty/program/reward_form.html",
        {"form": form, "reward": reward, "section": "rewards"},
        status=status,
    )


@staff_required(Perm.MANAGE_PROGRAM)
def reward_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = RewardForm(request.POST)
        form.is_valid()
        try:
            settings_services.create_reward(
                settings_services.RewardInput(**form.cleaned_data), actor=_actor(request)
            )
        except ServiceError as exc:
            form.add_service_errors(exc)
            return _reward_form_page(request, form, None, 400)
        messages.success(request, _("The reward was added to the catalogue."))
        return redirect("loyalty:program_rewards")
    return _reward_form_page(request, RewardForm(initial={"cost": ""}), None)


@staff_required(Perm.MANAGE_PROGRAM)
def reward_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reward = access(Reward, pk)
    if request.method == "POST":
        form = RewardForm(request.POST)
        form.is_valid()
        try:
            settings_services.update_reward(
                reward, settings_services.RewardInput(**form.cleaned_data), actor=_actor(request)
            )
        except ServiceError as exc:
            form.add_service_errors(exc)
            return _reward_form_page(request, form, reward, 400)
        messages.success(request, _("The reward was saved."))
        return redirect("loyalty:program_rewards")
    return _reward_form_page(request, RewardForm.for_reward(reward), reward)


@require_POST
@staff_required(Perm.MANAGE_PROGRAM)
def reward_active(request: HttpRequest, pk: int) -> HttpResponse:
    reward = access(Reward, pk)
    active = request.POST.get("active") == "1"
    settings_services.set_reward_active(reward, active, actor=_actor(request))
    if active:
        messages.success(request, _("The reward is offered again."))
    else:
        messages.success(request, _("The reward was withdrawn: customers can no longer take it."))
    return redirect("loyalty:program_rewards")


@require_POST
@staff_required(Perm.MANAGE_PROGRAM)
def reward_delete(request: HttpRequest, pk: int) -> HttpResponse:
    reward = access(Reward, pk)
    try:
        settings_services.delete_reward(reward, actor=_actor(request))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The reward was deleted."))
    return redirect("loyalty:program_rewards")


# --------------------------------------------------------------------------- tiers


@staff_required(Perm.MANAGE_PROGRAM)
def tier_list(request: HttpRequest) -> HttpResponse:
    counts = {
        r["tier_code"]: r["n"]
        for r in Card.objects.filter(status=CardStatus.OPEN)
        .values("tier_code")
        .annotate(n=Count("id"))
        .order_by()
    }
    tiers = [(t, counts.get(t.code, 0)) for t in Tier.objects.order_by("threshold")]
    return render(
        request,
        "loyalty/program/tiers.html",
        {"tiers": tiers, "without_tier": counts.get("", 0), "section": "tiers"},
    )


def _tier_form_page(
    request: HttpRequest, form: TierForm, tier: Tier | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "loyalty/program/tier_form.html",
        {"form": form, "tier": tier, "section": "tiers"},
        status=status,
    )


@staff_required(Perm.MANAGE_PROGRAM)
def tier_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = TierForm(request.POST)
        form.is_valid()
        try:
            settings_services.create_tier(
                settings_services.TierInput(**form.cleaned_data), actor=_actor(request)
            )
        except ServiceError as exc:
            form.add_service_errors(exc)
            return _tier_form_page(request, form, None, 400)
        messages.success(request, _("The tier was created."))
        return redirect("loyalty:program_tiers")
    return _tier_form_page(request, TierForm(initial={"multiplier": "1"}), None)


@staff_required(Perm.MANAGE_PROGRAM)
def tier_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tier = access(Tier, pk)
    if request.method == "POST":
        form = TierForm(request.POST)
        form.is_valid()
        try:
            settings_services.update_tier(
                tier, settings_services.TierInput(**form.cleaned_data), actor=_actor(request)
            )
        except ServiceError as exc:
            form.add_service_errors(exc)
            return _tier_form_page(request, form, tier, 400)
        messages.success(request, _("The tier was saved."))
        return redirect("loyalty:program_tiers")
    return _tier_form_page(request, TierForm.for_tier(tier), tier)


# --------------------------------------------------------------------------- simulate


def _line_field(field: str, line_rows: list[int]) -> str:
    """The form's field of a service's line field: "lines[1].amount" -> "line_4_amount"."""
    match = re.fullmatch(r"lines\[(\d+)\]\.(amount|category)", field)
    if match and int(match.group(1)) < len(line_rows):
        return f"line_{line_rows[int(match.group(1))]}_{match.group(2)}"
    return field


def _parse_when(raw: str) -> dt.datetime | None:
    """A ``datetime-local`` value read in the organization's time zone."""
    text = raw.strip()
    if not text:
        return None
    naive = dt.datetime.fromisoformat(text)
    if timezone.is_aware(naive):
        return naive
    return naive.replace(tzinfo=current_org().tz)


@staff_required(Perm.MANAGE_PROGRAM)
def simulate(request: HttpRequest) -> HttpResponse:
    """What a purchase would earn now under the current rules, and why. Writes nothing."""
    program = services.get_program()
    form = SimulateForm(request.GET or None)
    earning = None
    status = 200
    at: dt.datetime | None = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        lines: list[dict[str, str]] = []
        line_rows: list[int] = []  # the form row of each line sent to the service
        for i in range(SimulateForm.LINE_ROWS):
            category = data.get(f"line_{i}_category", "").strip()
            amount = data.get(f"line_{i}_amount", "").strip()
            if not category and not amount:
                continue
            if not amount:
                form.add_error(
                    f"line_{i}_amount",
                    _("Amount of line %(n)d is required when it has a category") % {"n": i + 1},
                )
                continue
            lines.append({"amount": amount, "category": category})
            line_rows.append(i)
        try:
            at = _parse_when(data.get("when", ""))
        except ValueError:
            form.add_error("when", _("Date and time is not valid: expected a date and a time"))
        if not data.get("amount", "").strip():
            form.add_error("amount", _("Amount is required"))
        if not form.errors:
            try:
                earning = services.simulate(
                    amount=data["amount"],
                    lines=lines,
                    at=at,
                    tier_code=data.get("tier") or "",
                )
            except ServiceError as exc:
                # The service numbers the lines it received; put the error on the form row.
                if _line_field(exc.field or "", line_rows) != exc.field:
                    apply_service_error(form, exc, rename=lambda f: _line_field(f, line_rows))
                else:
                    form.add_service_errors(exc)
        if form.errors or form.group_errors:
            status = 400
    return render(
        request,
        "loyalty/program/simulate.html",
        {
            "form": form,
            "program": program,
            "earning": earning,
            "at": at or (timezone.now() if earning else None),
            "tier_names": _tier_names(),
            "section": "simulate",
        },
        status=status,
    )


# --------------------------------------------------------------------------- owner's view


def _month_label(month: dt.date) -> str:
    return formats.date_format(month, "YEAR_MONTH_FORMAT")


def _charts(report: queries.Report) -> list[dict[str, Any]]:
    months = report.months

    def monthly(chart_id: str, title: str, attr: str, color: str) -> dict[str, Any]:
        bars = [
            Bar(_month_label(m.month), getattr(m, attr), _int(getattr(m, attr))) for m in months
        ]
        return {
            "id": chart_id,
            "title": title,
            "svg": bar_chart(chart_id, title, bars, color=color),
            "rows": [(b.label, b.text) for b in bars],
            "head": (_("Month"), _("Points")),
            "empty": not any(getattr(m, attr) for m in months),
        }

    charts = [
        monthly("chart-issued", _("Points issued per month"), "issued", "#2f6b4f"),
        monthly("chart-redeemed", _("Points redeemed per month"), "redeemed", "#1d4ed8"),
        monthly("chart-expired", _("Points expired per month"), "expired", "#8a5a00"),
    ]
    members = [Bar(_month_label(m.month), m.new_members, _int(m.new_members)) for m in months]
    charts.append(
        {
            "id": "chart-members",
            "title": _("New members per month"),
            "svg": bar_chart("chart-members", _("New members per month"), members, color="#22513b"),
            "rows": [(b.label, b.text) for b in members],
            "head": (_("Month"), _("New members")),
            "empty": not any(m.new_members for m in months),
        }
    )
    rewards = [Bar(r.name, r.count, _int(r.count)) for r in report.rewards]
    charts.append(
        {
            "id": "chart-rewards",
            "title": _("Most popular rewards (last 12 months)"),
            "svg": bar_chart(
                "chart-rewards",
                _("Most popular rewards (last 12 months)"),
                rewards,
                color="#1d4ed8",
            ),
            "rows": [(r.name, _int(r.count)) for r in report.rewards],
            "head": (_("Reward"), _("Times taken")),
            "empty": not rewards,
        }
    )
    tiers = [
        Bar(t.name if t.code else str(_("No tier")), t.count, _int(t.count)) for t in report.tiers
    ]
    charts.append(
        {
            "id": "chart-tiers",
            "title": _("Members by tier"),
            "svg": bar_chart("chart-tiers", _("Members by tier"), tiers, color="#2f6b4f"),
            "rows": [(b.label, b.text) for b in tiers],
            "head": (_("Tier"), _("Members")),
            "empty": report.members == 0,
        }
    )
    return charts


@staff_required(Perm.VIEW_LOYALTY_REPORTS)
def dashboard(request: HttpRequest) -> HttpResponse:
    program = services.get_program()
    report = queries.report(program=program)
    return render(
        request,
        "loyalty/program/dashboard.html",
        {
            "program": program,
            "report": report,
            "charts": _charts(report),
            "liability": _money(report.liability, report.currency),
            "point_value": _money(report.point_value, report.currency),
            "section": "dashboard",
        },
    )


def report_rows(report: queries.Report) -> list[list[Any]]:
    """The CSV of the owner's view: four tables one under the other, a blank row between."""
    rows: list[list[Any]] = [
        [
            _("month"),
            _("new members"),
            _("points issued"),
            _("points taken back (refunds)"),
            _("points redeemed"),
            _("points expired"),
            _("points adjusted"),
        ]
    ]
    for m in report.months:
        rows.append(
            [
                m.month.strftime("%Y-%m"),
                m.new_members,
                m.issued,
                m.taken_back,
                m.redeemed,
                m.expired,
                m.adjusted,
            ]
        )
    rate = "" if report.redemption_rate is None else str(report.redemption_rate)
    rows += [
        [],
        [_("figure"), _("value")],
        [_("members (open cards)"), report.members],
        [
            _("active members (a visit in the last %(n)d days)") % {"n": report.active_days},
            report.active_members,
        ],
        [_("outstanding points"), report.outstanding],
        [_("value of one point (%(c)s)") % {"c": report.currency}, str(report.point_value)],
        [_("value of outstanding points (%(c)s)") % {"c": report.currency}, str(report.liability)],
        [
            _("redemption rate over 12 months (%): points redeemed / points issued after refunds"),
            rate,
        ],
        [],
        [_("reward"), _("times taken (last 12 months)"), _("points")],
    ]
    rows += [[r.name, r.count, r.points] for r in report.rewards]
    rows += [[], [_("tier"), _("threshold"), _("members")]]
    rows += [
        [t.name if t.code else _("No tier"), "" if t.threshold is None else t.threshold, t.count]
        for t in report.tiers
    ]
    return rows


@staff_required(Perm.VIEW_LOYALTY_REPORTS)
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    """The owner's view as CSV (UTF-8 with BOM, ``;``), every cell formula-safe, audited."""
    org = current_org()
    program = services.get_program()
    report = queries.report(program=program)
    rows = report_rows(report)
    settings_services.log_report_export(_actor(request), rows=sum(1 for r in rows if r))
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER)
    for row in rows:
        # Numbers are written as numbers (a negative adjustment stays -3); every text cell is
        # neutralised, so a reward or tier name can never become a formula.
        writer.writerow([str(cell) if isinstance(cell, int) else safe_cell(cell) for cell in row])
    stamp = timezone.localdate(timezone.now(), org.tz).isoformat()
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="loyalty-{org.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
