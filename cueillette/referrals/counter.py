"""The "who sent you?" field of the counter's registration form (cueillette/customers).

Staff search an existing customer by name, phone, card number or email
(:func:`services.referrer_search`). Without JavaScript the form does the search itself: an
exact identifier (a full phone, card number or email) that finds one customer is taken at once;
anything else shows the matches as a list to choose from, and the registration waits. With
``referrals/counter.js`` the matches appear as staff type (``?referrer_search=`` on the
registration page returns them as an HTML fragment) and the choice travels in ``referrer``.

The referral is then recorded by :func:`credit` in the same transaction as the new customer:
a refusal of the service (self-referral...) becomes an error next to the field and the customer
is not created either. A named referrer also answers "how did you hear about us?" when staff
left it empty ("a friend", as the link join does).

The loyalty counter's member screen and purchase confirmation say what happens to the
customer's referral (:func:`card_note`, :func:`purchase_note`), through the notes loyalty
lets later apps register (decision 0013: loyalty does not know referrals).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.customers.models import Customer, CustomerStatus, HeardFrom
from cueillette.loyalty.models import Card, Purchase
from cueillette.referrals import rewards, services
from cueillette.referrals.models import Referral, ReferralSource, ReferralStatus

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
        _heard_from_friend(form)
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
        _heard_from_friend(form)
        return found[0]
    form.referrer_choices = found  # type: ignore[attr-defined]
    form.add_error(
        QUERY_FIELD, _("Choose who sent them in the list below, or leave the field empty.")
    )
    return None


def _heard_from_friend(form: forms.Form) -> None:
    """Someone sent them: "how did you hear about us?" is "a friend" unless staff chose."""
    cleaned = getattr(form, "cleaned_data", None)
    if cleaned is not None and "heard_from" in form.fields and not cleaned.get("heard_from"):
        cleaned["heard_from"] = HeardFrom.FRIEND


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


# --------------------------------------------------------------------------- loyalty counter


def register_counter_notes() -> None:
    from cueillette.loyalty import views_counter

    views_counter.register_purchase_note(purchase_note)
    views_counter.register_card_note(card_note)


def purchase_note(purchase: Purchase) -> str:
    """After a purchase at the counter: the referral it confirmed and who got what, so the
    balance shown adds up ("Referral confirmed: +25 welcome points for Léa Noël, +50 points
    for Claire Roux.")."""
    referral = (
        Referral.objects.select_related("referrer", "friend", "referrer_entry", "friend_entry")
        .filter(confirming_purchase=purchase)
        .exclude(status=ReferralStatus.REJECTED)
        .first()
    )
    if referral is None:
        return ""
    if referral.status == ReferralStatus.CONFIRMED:
        rewarded = rewards.rewarded_text(referral)
        if not rewarded:
            return _("Referral confirmed.")
        return _("Referral confirmed: %(rewards)s.") % {"rewards": rewarded}
    if referral.under_review:
        return _(
            "This purchase qualifies for the referral by %(name)s, which waits for a manager's "
            "review: the points will come with the decision."
        ) % {"name": referral.referrer.full_name or referral.referrer_id}
    return ""


def card_note(card: Card) -> str:
    """On the counter's member screen: a referral of this customer still waiting, and what
    confirms it (the minimum amount of the first purchase)."""
    from cueillette.loyalty.queries_counter import money

    referral = (
        Referral.objects.select_related("referrer")
        .filter(friend_id=card.customer_id, status=ReferralStatus.PENDING)
        .first()
    )
    if referral is None:
        return ""
    name = referral.referrer.full_name or referral.referrer_id
    if referral.under_review:
        return _("Referred by %(name)s: the referral waits for a manager's review.") % {
            "name": name
        }
    if referral.confirming_purchase_id is not None:
        return ""
    program = services.get_program()
    if program.min_amount > 0:
        text = _(
            "Referred by %(name)s: a first purchase of at least %(amount)s confirms the referral."
        ) % {"name": name, "amount": money(program.min_amount)}
    else:
        text = _("Referred by %(name)s: their first purchase confirms the referral.") % {
            "name": name
        }
    if program.friend_points:
        text += " " + ngettext(
            "This customer then receives %(points)d welcome point.",
            "This customer then receives %(points)d welcome points.",
            program.friend_points,
        ) % {"points": program.friend_points}
    return text
