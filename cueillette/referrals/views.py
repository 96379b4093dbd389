"""Staff and owner pages of the referral program, at /app/referrals/ (namespace "referrals").

They only translate: parse, access, call one service (or one read), render.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from babel.numbers import format_currency
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cueillette.accounts.models import User
from cueillette.core.audit import Actor
from cueillette.core.decorators import staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm, role_has
from cueillette.core.tenancy import access, current_org
from cueillette.customers.models import Customer
from cueillette.referrals import charts, queries, rewards, services
from cueillette.referrals.forms import DecideForm, ProgramForm, ThankForm
from cueillette.referrals.models import (
    Flag,
    Reason,
    Referral,
    ReferralSource,
    ReferralStatus,
    ThankYou,
)

PAGE_SIZE = 50


def _actor(request: HttpRequest) -> Actor:
    return Actor.staff(cast(User, request.user))


def _can(request: HttpRequest, perm: Perm) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_has(membership.role, perm)


def money(cents: int) -> str:
    locale = (get_language() or "fr")[:2]
    return str(format_currency(Decimal(cents) / 100, current_org().currency, locale=locale))


# --------------------------------------------------------------------------- lists


@staff_required(Perm.MANAGE_REFERRALS)
def referral_list(request: HttpRequest) -> HttpResponse:
    qs = services.referrals()
    filters = {
        "status": (request.GET.get("status", ""), ReferralStatus.values),
        "reason": (request.GET.get("reason", ""), Reason.values),
        "source": (request.GET.get("source", ""), ReferralSource.values),
    }
    if filters["status"][0] in filters["status"][1]:
        qs = qs.filter(status=filters["status"][0])
    if filters["reason"][0] in filters["reason"][1]:
        qs = qs.filter(reason_code=filters["reason"][0])
    if filters["source"][0] in filters["source"][1]:
        qs = qs.filter(source=filters["source"][0])
    page = Paginator(qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "referrals/staff/list.html",
        {
            "page": page,
            "section": "list",
            "status": filters["status"][0],
            "reason": filters["reason"][0],
            "source": filters["source"][0],
            "statuses": ReferralStatus.choices,
            "reasons": Reason.choices,
            "sources": ReferralSource.choices,
            "flag_labels": dict(Flag.choices),
            "review_count": services.review_queue().count(),
        },
    )


@staff_required(Perm.MANAGE_REFERRALS)
def review_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "referrals/staff/review.html",
        {
            "referrals": list(services.review_queue()[:200]),
            "section": "review",
            "flag_labels": dict(Flag.choices),
            "review_count": services.review_queue().count(),
        },
    )


@require_POST
@staff_required(Perm.MANAGE_REFERRALS)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    referral = access(Referral, pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to confirm or to reject."))
        return redirect("referrals:review")
    decision = form.cleaned_data["decision"]
    reason = form.cleaned_data["reason"]
    try:
        if referral.under_review:
            services.review(
                referral, accept=decision == "confirm", reason=reason, actor=_actor(request)
            )
        elif decision == "confirm":
            rewards.confirm_manually(referral, reason=reason, actor=_actor(request))
        else:
            raise ServiceError("referral_not_pending", _("this referral is not under review"))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The referral was confirmed.")
            if decision == "confirm"
            else _("The referral was rejected."),
        )
    back = request.POST.get("next", "")
    return redirect("referrals:list" if back == "list" else "referrals:review")


# --------------------------------------------------------------------------- settings


@staff_required(Perm.MANAGE_REFERRALS)
def program_settings(request: HttpRequest) -> HttpResponse:
    program = services.get_program()
    status = 200
    if request.method == "POST":
        form = ProgramForm(request.POST)
        if form.is_valid():
            try:
                services.update_program(dict(form.cleaned_data), actor=_actor(request))
            except ServiceError as exc:
                form.add_service_error(exc)
                status = 400
            else:
                messages.success(request, _("The referral rules were saved."))
                return redirect("referrals:settings")
        else:
            status = 400
    else:
        form = ProgramForm.for_program(program)
    return render(
        request,
        "referrals/staff/settings.html",
        {"form": form, "program": program, "section": "settings"},
        status=status,
    )


# --------------------------------------------------------------------------- advocates


@staff_required(Perm.VIEW_ADVOCATES)
def advocates(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "reach")
    if sort not in queries.SORTS:
        sort = "reach"
    rows = queries.advocates(sort=sort)
    return render(
        request,
        "referrals/staff/advocates.html",
        {
            "rows": [
                {
                    "a": a,
                    "direct_revenue": money(a.direct_revenue),
                    "reach_revenue": money(a.reach_revenue),
                }
                for a in rows
            ],
            "sort": sort,
            "section": "advocates",
        },
    )


@staff_required(Perm.VIEW_ADVOCATES)
def advocate(request: HttpRequest, pk: int) -> HttpResponse:
    customer = access(Customer, pk)
    form = ThankForm()
    status = 200
    return _advocate_page(request, customer, form, status)


def _advocate_page(
    request: HttpRequest, customer: Customer, form: ThankForm, status: int
) -> HttpResponse:
    root = queries.tree(customer)
    return render(
        request,
        "referrals/staff/advocate.html",
        {
            "customer": customer,
            "root": root,
            "thanks": ThankYou.objects.filter(advocate=customer)[:20],
            "form": form,
            "can_thank": _can(request, Perm.MANAGE_REFERRALS),
            "may_email": services.may_email_thanks(customer),
            "section": "advocates",
        },
        status=status,
    )


@require_POST
@staff_required(Perm.MANAGE_REFERRALS)
def thank(request: HttpRequest, pk: int) -> HttpResponse:
    customer = access(Customer, pk)
    form = ThankForm(request.POST)
    if not form.is_valid():
        return _advocate_page(request, customer, form, 400)
    try:
        thanks = services.thank(
            customer,
            message=form.cleaned_data["message"] or "",
            points=form.cleaned_data["points"],
            actor=_actor(request),
        )
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _advocate_page(request, customer, form, 400)
    messages.success(
        request,
        _("Thank-you recorded and emailed.") if thanks.emailed else _("Thank-you recorded."),
    )
    return redirect("referrals:advocate", pk=customer.pk)


@staff_required(Perm.VIEW_ADVOCATES)
def figures(request: HttpRequest) -> HttpResponse:
    months = queries.monthly()
    return render(
        request,
        "referrals/staff/figures.html",
        {"months": months, "charts": charts.monthly_charts(months), "section": "figures"},
    )
