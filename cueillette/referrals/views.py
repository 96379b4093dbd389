"""Staff and owner pages of the referral program, at /app/referrals/ (namespace "referrals").

They only translate: parse, access, call one service (or one read), render.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import request_can, staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.core.money import format_money
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access, current_org
from cueillette.customers.models import Customer, CustomerStatus
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
    return staff_actor(request)


def money(cents: int) -> str:
    return format_money(Decimal(cents) / 100, current_org().currency)


# --------------------------------------------------------------------------- lists


#: The list's filters, kept across a decision (the forms carry them back).
LIST_FILTERS = ("status", "reason", "source", "page")


def _list_params(data: QueryDict | dict[str, str]) -> dict[str, str]:
    return {k: str(data.get(k, "") or "")[:40] for k in LIST_FILTERS if data.get(k)}


def _reward_hints(rows: list[Referral]) -> dict[int, str]:
    """Before a manual "Confirm": who will not be rewarded, and why (the rules are
    :func:`rewards.unrewarded_sides`'s)."""
    program = services.get_program()
    waiting = [r for r in rows if r.status == ReferralStatus.PENDING and not r.under_review]
    words = {
        ("referrer", rewards.NO_CARD): _("the referrer has no open loyalty card"),
        ("referrer", rewards.CAP_REACHED): _("the referrer has reached the monthly cap"),
        ("friend", rewards.NO_CARD): _("the friend has no open loyalty card"),
    }
    hints: dict[int, str] = {}
    for pk, why_not in rewards.unrewarded_sides(waiting).items():
        gets_referrer = bool(program.referrer_points) and "referrer" not in why_not
        gets_friend = bool(program.friend_points) and "friend" not in why_not
        reasons = pgettext("separator between clauses", "; ").join(
            words[(side, why)] for side, why in why_not.items()
        )
        if gets_referrer:
            hints[pk] = _("Only the referrer will receive points: %(why)s.") % {"why": reasons}
        elif gets_friend:
            hints[pk] = _("Only the friend will receive points: %(why)s.") % {"why": reasons}
        else:
            hints[pk] = _("Nobody will receive points: %(why)s.") % {"why": reasons}
    return hints


def _list_page(
    request: HttpRequest,
    params: dict[str, str],
    *,
    form_error: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    qs = services.referrals().select_related("referrer_entry", "friend_entry")
    filters = {
        "status": (params.get("status", ""), ReferralStatus.values),
        "reason": (params.get("reason", ""), Reason.values),
        "source": (params.get("source", ""), ReferralSource.values),
    }
    if filters["status"][0] in filters["status"][1]:
        qs = qs.filter(status=filters["status"][0])
    if filters["reason"][0] in filters["reason"][1]:
        qs = qs.filter(reason_code=filters["reason"][0])
    if filters["source"][0] in filters["source"][1]:
        qs = qs.filter(source=filters["source"][0])
    page = Paginator(qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(params.get("page"))
    rows = list(page.object_list)
    # Only pending referrals have a form to show an error next to.
    _say_elsewhere(request, form_error, [r for r in rows if r.status == ReferralStatus.PENDING])
    return render(
        request,
        "referrals/staff/list.html",
        {
            "page": page,
            "rows": rows,
            "section": "list",
            "status": filters["status"][0],
            "reason": filters["reason"][0],
            "source": filters["source"][0],
            "filters": urlencode(params),
            "statuses": ReferralStatus.choices,
            "reasons": Reason.choices,
            "sources": ReferralSource.choices,
            "flag_labels": dict(Flag.choices),
            "hints": _reward_hints(rows),
            "form_error": form_error or {},
            "review_count": services.review_queue().count(),
        },
        status=status,
    )


def _say_elsewhere(
    request: HttpRequest, form_error: dict[str, Any] | None, with_form: list[Referral]
) -> None:
    """An error about a referral whose form the page does not show goes to the top."""
    if form_error and form_error["pk"] not in {r.pk for r in with_form}:
        messages.error(request, form_error["message"])


@staff_required(Perm.MANAGE_REFERRALS)
def referral_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, _list_params(request.GET))


def _review_page(
    request: HttpRequest, *, form_error: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    rows = list(services.review_queue()[:200])
    _say_elsewhere(request, form_error, rows)
    return render(
        request,
        "referrals/staff/review.html",
        {
            "referrals": rows,
            "section": "review",
            "flag_labels": dict(Flag.choices),
            "form_error": form_error or {},
            "review_count": services.review_queue().count(),
        },
        status=status,
    )


@staff_required(Perm.MANAGE_REFERRALS)
def review_queue(request: HttpRequest) -> HttpResponse:
    return _review_page(request)


def _confirmed_message(referral: Referral) -> str:
    """Who was rewarded, or that the referral now waits for the friend's first purchase."""
    referral = (
        services.referrals().select_related("referrer_entry", "friend_entry").get(pk=referral.pk)
    )
    if referral.status != ReferralStatus.CONFIRMED:
        return _(
            "The referral was accepted: both sides are rewarded at the friend's first "
            "qualifying purchase."
        )
    rewarded = rewards.rewarded_text(referral)
    if not rewarded:
        return _("The referral was confirmed.")
    return _("The referral was confirmed: %(rewards)s.") % {"rewards": rewarded}


@require_POST
@staff_required(Perm.MANAGE_REFERRALS)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (accept a flagged referral, or confirm one without a recorded purchase) or
    reject (any pending referral, with a reason). An error is said next to that referral's
    reason, on the page the manager came from, with what they typed."""
    referral = access(Referral, pk)
    back_to_list = request.POST.get("next", "") == "list"
    params = _list_params(QueryDict(request.POST.get("filters", "")))
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to confirm or to reject."))
        return redirect("referrals:review")
    decision = form.cleaned_data["decision"]
    reason = form.cleaned_data["reason"]
    try:
        if decision == "reject":
            done = services.reject(referral, reason=reason, actor=_actor(request))
        elif referral.under_review:
            done = services.review(referral, accept=True, reason=reason, actor=_actor(request))
        else:
            done = rewards.confirm_manually(referral, reason=reason, actor=_actor(request))
    except ServiceError as exc:
        form_error = {
            "pk": referral.pk,
            "field": "reason" if exc.field == "reason" else "",
            "message": exc.message,
            "reason": reason,
        }
        if back_to_list:
            return _list_page(request, params, form_error=form_error, status=exc.status)
        return _review_page(request, form_error=form_error, status=exc.status)
    messages.success(
        request,
        _confirmed_message(done) if decision == "confirm" else _("The referral was rejected."),
    )
    if back_to_list:
        url = reverse("referrals:list")
        return redirect(f"{url}?{urlencode(params)}" if params else url)
    return redirect("referrals:review")


# --------------------------------------------------------------------------- settings


@staff_required(Perm.MANAGE_REFERRALS)
def program_settings(request: HttpRequest) -> HttpResponse:
    program = services.get_program()
    status = 200
    if request.method == "POST":
        form = ProgramForm(request.POST)
        if form.is_valid():
            try:
                services.update_program(
                    services.ProgramChange(**form.cleaned_data), actor=_actor(request)
                )
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
        {
            "form": form,
            "program": program,
            "min_amount": money(round(Decimal(program.min_amount) * 100)),
            "section": "settings",
        },
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
            "can_thank": request_can(request, Perm.MANAGE_REFERRALS),
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
        apply_service_error(form, exc)
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


# --------------------------------------------------------------------------- set a referrer


@staff_required(Perm.SERVE_CUSTOMERS)
def set_referrer(request: HttpRequest, pk: int) -> HttpResponse:
    """Who sent this existing customer? Named afterwards (a wrong referrer was rejected, or
    nobody asked at registration): search, choose, record (source counter, same checks).

    Anyone who serves customers may ask it, counter staff included, as at registration: the
    fraud checks (self-referral, already referred, the review flags) are the service's, the
    same for every role; reviewing a flagged referral stays with managers."""
    friend = access(Customer, pk)
    current = queries.counts_for(friend)["referred_by"]
    query = (request.POST.get("q") or request.GET.get("q") or "").strip()[:100]
    error = ""
    status = 200
    if request.method == "POST" and current is None:
        picked = request.POST.get("referrer", "")
        referrer = (
            Customer.objects.filter(pk=int(picked), status=CustomerStatus.ACTIVE).first()
            if picked.isdigit()
            else None
        )
        if referrer is None:
            error = _("Choose who sent them in the list.")
            status = 400
        else:
            try:
                referral = services.record_referral(
                    referrer, friend, source=ReferralSource.COUNTER, actor=_actor(request)
                )
            except ServiceError as exc:
                error = exc.message
                status = exc.status if exc.status >= 400 else 400
            else:
                if referral.under_review:
                    messages.warning(
                        request,
                        _("The referral is recorded and waits in the review queue: %(why)s.")
                        % {"why": referral.get_reason_code_display()},
                    )
                else:
                    messages.success(request, _("The referral is recorded."))
                return redirect("customers:detail", pk=friend.pk)
    choices = services.referrer_search(query, limit=10) if query and current is None else []
    choices = [c for c in choices if c.pk != friend.pk]
    return render(
        request,
        "referrals/staff/set_referrer.html",
        {
            "friend": friend,
            "current": current,
            "query": query,
            "choices": choices,
            "error": error,
            "section": "list",
        },
        status=status,
    )
