"""The "who sent you?" field of the counter's registration form (cueillette/customers).

Staff search an existing customer by name, phone, card number or email
(:func:`services.referrer_search`). Without JavaScript the form does the search itself: an
exact identifier (a full phone, card number or email) that finds one customer is taken at once;
anything else shows the matches as a list to choose from, and the registration waits. With
``referrals/counter.js`` the matches appear as staff type (``?referrer_search=`` on the
registration page returns them as an HTML fragment) and the choice travels in ``referrer``.

The referral is then recorded by :func:`credit` in the same transaction as the new customer:
a refusal of the service (self-referral...) becomes an error next to the field and the customer
is not created either.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.customers.models import Customer, CustomerStatus
from cueillette.referrals import services
from cueillette.referrals.models import Referral, ReferralSource

QUERY_FIELD = "referrer_q"
PICK_FIELD = "referrer"
#: How many matches are offered to choose from.
CHOICES_LIMIT = 8
#: A query with this many digits is a full phone or card number, not a prefix.
PRECISE_DIGITS = 8


def enabled() -> bool:
    return bool(services.get_program().enabled)


def _precise(query: str) -> bool:
    return "@" in query or sum(ch.isdigit() for ch in query) >= PRECISE_DIGITS


def referrer_from_form(form: forms.Form) -> Customer | None:
    """The customer named in "who sent you?", or None when the field is empty.

    When staff must choose (several matches, or a name), or nothing matches, an error is added
    to the field and the matches are left in ``form.referrer_choices`` for the template.
    """
    form.referrer_choices = []  # type: ignore[attr-defined]
    form.referrer_picked = None  # type: ignore[attr-defined]
    # Said in the same round as the other fields' errors, so cleaned_data may be partial.
    cleaned = getattr(form, "cleaned_data", None) or {}
    if not enabled() or QUERY_FIELD in form.errors or PICK_FIELD in form.errors:
        return None
    query = str(cleaned.get(QUERY_FIELD) or "").strip()
    picked = cleaned.get(PICK_FIELD)
    if picked:
        chosen = Customer.objects.filter(pk=picked, status=CustomerStatus.ACTIVE).first()
        if chosen is None:
            form.add_error(QUERY_FIELD, _("This customer can no longer be chosen: search again."))
            return None
        form.referrer_choices = [chosen]  # type: ignore[attr-defined]
        form.referrer_picked = chosen.pk  # type: ignore[attr-defined]
        return chosen
    if not query:
        return None
    found = services.referrer_search(query, limit=CHOICES_LIMIT)
    if not found:
        form.add_error(
            QUERY_FIELD,
            _("No customer matches “%(q)s”: check it, or leave the field empty.") % {"q": query},
        )
        return None
    if len(found) == 1 and _precise(query):
        form.referrer_choices = found  # type: ignore[attr-defined]
        form.referrer_picked = found[0].pk  # type: ignore[attr-defined]
        return found[0]
    form.referrer_choices = found  # type: ignore[attr-defined]
    form.add_error(
        QUERY_FIELD, _("Choose who sent them in the list below, or leave the field empty.")
    )
    return None


def credit(referrer: Customer, friend: Customer, *, actor: Actor) -> Referral:
    """Record the referral (source "counter"); a refusal is said next to "who sent you?"."""
    try:
        return services.record_referral(
            referrer, friend, source=ReferralSource.COUNTER, actor=actor
        )
    except ServiceError as exc:
        raise ServiceError(exc.code, exc.message, field=QUERY_FIELD, status=exc.status) from exc


def choices_fragment(request: HttpRequest) -> HttpResponse:
    """The matches for ``?referrer_search=`` as the list to choose from (for counter.js)."""
    query = request.GET.get("referrer_search", "").strip()[:100]
    choices: list[Customer] = []
    if enabled() and query:
        choices = services.referrer_search(query, limit=CHOICES_LIMIT)
    context: dict[str, Any] = {"choices": choices, "picked": None, "query": query}
    return render(request, "referrals/counter/_choices.html", context)
