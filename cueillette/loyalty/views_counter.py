"""The counter screen: find a member (scan, card number, phone, name), record a purchase in
three taps, redeem a reward, undo one's own last operation. Views only translate: parse,
access, call one service, render. Every form works without JavaScript; counter/counter.js
adds the scan, the preview as you type and the double-submit guard."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import IntegrityError
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import request_can, staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, CustomerStatus, Purpose
from cueillette.loyalty import queries_counter as q
from cueillette.loyalty import services
from cueillette.loyalty.errors import Code
from cueillette.loyalty.models import Card, CardStatus, Purchase, Reward, Source

PURPOSES = Purpose.values

# Later apps add a sentence to the counter's screens without loyalty knowing them (decision
# 0013: hooks): ``fn(purchase) -> str`` after a purchase is recorded (referrals: "Referral
# confirmed: +25 welcome points..."), ``fn(card) -> str`` on the member screen (a referral
# waiting for a first purchase). An empty string says nothing. Registered in AppConfig.ready.
PurchaseNote = Callable[[Purchase], str]
CardNote = Callable[[Card], str]
_purchase_notes: list[PurchaseNote] = []
_card_notes: list[CardNote] = []


def register_purchase_note(fn: PurchaseNote) -> None:
    if fn not in _purchase_notes:
        _purchase_notes.append(fn)


def register_card_note(fn: CardNote) -> None:
    if fn not in _card_notes:
        _card_notes.append(fn)


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request)


def _wants_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch" or bool(request.GET.get("partial"))


def new_receipt_id() -> str:
    """A fresh receipt id for each confirm form: posting the same form twice (a double tap,
    a retried request) credits once, because the service is idempotent by receipt id."""
    return f"counter-{uuid.uuid4().hex}"


# --------------------------------------------------------------------------- find


@staff_required(Perm.SERVE_CUSTOMERS)
def counter(request: HttpRequest) -> HttpResponse:
    """The counter home: one big box (card number, phone or name) and a Scan button.
    A card number or a single match goes straight to the member screen."""
    query = request.GET.get("q", "").strip()[:100]
    found = q.lookup(query)
    if found.card is not None:
        return redirect("loyalty:counter_card", pk=found.card.pk)
    only = found.only_customer
    if only is not None:
        card = found.cards.get(only.pk)
        if card is not None:
            return redirect("loyalty:counter_card", pk=card.pk)
        return redirect("loyalty:counter_customer", pk=only.pk)
    results = [{"customer": c, "card": found.cards.get(c.pk)} for c in found.customers]
    # Nothing found is an answer, not a missing page: 200 with the empty state (and its
    # "Register a new customer"), so browsers, scanners and monitoring do not see an error.
    return render(
        request, "loyalty/counter/home.html", {"q": query, "found": found, "results": results}
    )


@staff_required(Perm.SERVE_CUSTOMERS)
def counter_customer(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer found by name or phone: their card if they have one, else "Join"."""
    customer = access(Customer, pk, status=CustomerStatus.ACTIVE)
    card = services.open_card_for(customer)
    if card is not None:
        return redirect("loyalty:counter_card", pk=card.pk)
    return _join_page(request, customer)


def _join_page(
    request: HttpRequest, customer: Customer, *, error: str = "", status: int = 200
) -> HttpResponse:
    customer = q.customer_with_consents(customer.pk)
    language = customer.language if customer.language in ("fr", "en") else "fr"
    program = services.get_program()
    closed = Card.objects.filter(customer=customer, status=CardStatus.CLOSED).first()
    return render(
        request,
        "loyalty/counter/join.html",
        {
            "customer": customer,
            "c": customer,
            "purposes": PURPOSES,
            "program": program,
            "closed_card": closed,
            "wording": customer_services.current_wording(Purpose.LOYALTY, language),
            "error": error,
        },
        status=status,
    )


@staff_required(Perm.SERVE_CUSTOMERS)
@require_POST
def join(request: HttpRequest, pk: int) -> HttpResponse:
    """Join at the counter: the customer agreed out loud; the consent is recorded with
    source "counter" and the staff member as actor, and a card is issued."""
    customer = access(Customer, pk, status=CustomerStatus.ACTIVE)
    already_agreed = customer_services.has_consent(customer, Purpose.LOYALTY)
    if request.POST.get("agreed") != "yes" and not already_agreed:
        return _join_page(
            request,
            customer,
            error=_("Tick the box once the customer has agreed to join: nothing is assumed."),
            status=400,
        )
    try:
        card = services.join_program(
            customer, actor=_actor(request), source="counter", language=customer.language
        )
    except ServiceError as exc:
        if exc.code == Code.ALREADY_MEMBER:
            existing = services.open_card_for(customer)
            if existing is not None:
                return redirect("loyalty:counter_card", pk=existing.pk)
        return _join_page(request, customer, error=exc.message, status=exc.status)
    messages.success(
        request,
        _("Welcome to the loyalty program! Card number %(number)s.")
        % {"number": card.display_number},
    )
    return redirect("loyalty:counter_card", pk=card.pk)


# --------------------------------------------------------------------------- member screen


def _member(
    request: HttpRequest,
    card: Card,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    view = q.member_view(card, _actor(request))
    context: dict[str, Any] = {
        "v": view,
        "card": view.card,
        "customer": view.customer,
        "c": view.customer,
        "purposes": PURPOSES,
        "can_adjust": request_can(request, Perm.ADJUST_POINTS),
        "errors": {},
        "amount": "",
        "preview": None,
        "alert": "",
        "card_notes": [note for note in (fn(view.card) for fn in _card_notes) if note],
    }
    context.update(extra)
    return render(request, "loyalty/counter/member.html", context, status=status)


@staff_required(Perm.SERVE_CUSTOMERS)
def counter_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The member screen: balance, tier, rewards, expiry, visits, notes; purchase, redeem,
    undo."""
    return _member(request, access(Card, pk))


def _preview(card: Card, amount: str) -> dict[str, Any]:
    earning = services.simulate(amount=amount, card=card)
    return {
        "amount": services.parse_amount(amount),
        "amount_text": q.money(services.parse_amount(amount)),
        "points": earning.total,
        "steps": q.explain(earning.steps),
        "receipt_id": new_receipt_id(),
    }


@staff_required(Perm.SERVE_CUSTOMERS)
@require_POST
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """What the amount would earn, and why; writes nothing. Answers a small fragment to the
    page's script (preview as you type), the whole member screen otherwise."""
    card = access(Card, pk)
    amount = request.POST.get("amount", "").strip()[:20]
    fragment = _wants_fragment(request)
    errors: dict[str, str] = {}
    data = None
    if not amount:
        errors["amount"] = _("amount is required: type the amount of the purchase")
    else:
        try:
            data = _preview(card, amount)
        except ServiceError as exc:
            errors["amount"] = exc.message
    status = 400 if errors else 200
    if fragment:
        return render(
            request,
            "loyalty/counter/_preview.html",
            {"card": card, "preview": data, "fragment_error": errors.get("amount", "")},
            status=status,
        )
    return _member(request, card, status=status, amount=amount, preview=data, errors=errors)


def _record(request: HttpRequest, card: Card, amount: str, receipt: str) -> Purchase:
    return services.record_purchase(
        card, amount=amount, actor=_actor(request), source=Source.COUNTER, receipt_id=receipt
    )


@staff_required(Perm.SERVE_CUSTOMERS)
@require_POST
def purchase(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm a previewed purchase. The receipt id of the confirm form makes a second post
    of the same form credit nothing more."""
    card = access(Card, pk)
    amount = request.POST.get("amount", "").strip()[:20]
    receipt = request.POST.get("receipt_id", "").strip()[:100] or new_receipt_id()
    already = Purchase.objects.filter(receipt_id=receipt).exists()
    try:
        try:
            done = _record(request, card, amount, receipt)
        except IntegrityError:
            # Two taps raced on PostgreSQL and the other one inserted this receipt first:
            # asking again returns that purchase (same receipt, same amount).
            done = _record(request, card, amount, receipt)
    except ServiceError as exc:
        return _member(
            request,
            card,
            status=exc.status,
            amount=amount,
            errors={"amount": exc.message},
            alert=exc.message,
        )
    card.refresh_from_db(fields=["balance"])
    if already:
        messages.info(
            request,
            _("This purchase was already recorded: nothing was added twice."),
        )
    else:
        # What other apps added on the way (a referral's points) comes before the balance,
        # so that the sum adds up.
        notes = " ".join(note for note in (fn(done) for fn in _purchase_notes) if note)
        # Counts through ngettext: French says "0 point", "1 point", "2 points".
        values = {
            "points": q.points_text(done.points),
            "amount": q.money(done.amount),
            "balance": q.points_text(card.balance),
        }
        messages.success(
            request,
            _("+%(points)s for %(amount)s. %(notes)s Balance: %(balance)s.")
            % {**values, "notes": notes}
            if notes
            else _("+%(points)s for %(amount)s. Balance: %(balance)s.") % values,
        )
    return redirect("loyalty:counter_card", pk=card.pk)


@staff_required(Perm.SERVE_CUSTOMERS)
@require_POST
def redeem(request: HttpRequest, pk: int) -> HttpResponse:
    card = access(Card, pk)
    reward = access(Reward, request.POST.get("reward", ""))
    try:
        services.redeem(card, reward, actor=_actor(request), source=Source.COUNTER)
    except ServiceError as exc:
        return _member(request, card, status=exc.status, alert=exc.message)
    card.refresh_from_db(fields=["balance"])
    messages.success(
        request,
        _("Reward given: %(reward)s (-%(cost)s). Balance: %(balance)s.")
        % {
            "reward": reward.name,
            "cost": q.points_text(reward.cost),
            "balance": q.points_text(card.balance),
        },
    )
    return redirect("loyalty:counter_card", pk=card.pk)


@staff_required(Perm.SERVE_CUSTOMERS)
@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo one's own last purchase or reward on this card, within five minutes."""
    card = access(Card, pk)
    actor = _actor(request)
    entry = services.last_undoable(card, actor, timezone.now())
    label = q.undo_label(entry) if entry is not None else ""
    last_id = card.entries.order_by("-id").values_list("id", flat=True).first() or 0
    try:
        correction = services.undo_last(card, actor=actor)
    except ServiceError as exc:
        return _member(request, card, status=exc.status, alert=exc.message)
    card.refresh_from_db(fields=["balance"])
    # Other entries the undo wrote on this card (a referral's welcome points taken back with
    # the sale that earned them): said, so that the balance shown adds up.
    linked = (
        card.entries.filter(id__gt=last_id)
        .exclude(pk=correction.pk)
        .aggregate(points=Sum("points"))["points"]
        or 0
    )
    text = _("Undone: %(what)s.") % {"what": label}
    if linked < 0:
        text += " " + _("Points linked to it taken back too: %(n)d.") % {"n": -linked}
    text += " " + _("Balance: %(balance)s.") % {"balance": q.points_text(card.balance)}
    messages.success(request, text)
    return redirect("loyalty:counter_card", pk=card.pk)


@staff_required(Perm.ADJUST_POINTS)
@require_POST
def adjust(request: HttpRequest, pk: int) -> HttpResponse:
    """A manual correction (owner or manager): points and a reason, both required."""
    card = access(Card, pk)
    raw = request.POST.get("points", "").strip().replace("\u2212", "-")[:12]
    reason = request.POST.get("reason", "").strip()[:200]
    errors: dict[str, str] = {}
    points = 0
    try:
        points = int(raw)
    except ValueError:
        errors["points"] = _("points must be a whole number, e.g. 20 or -20")
    if not reason:
        errors["reason"] = _("reason is required: say why the points change")
    if not errors:
        try:
            services.adjust(card, points, reason=reason, actor=_actor(request))
        except ServiceError as exc:
            errors[exc.field if exc.field in ("points", "reason") else "points"] = exc.message
    if errors:
        return _member(
            request,
            card,
            status=400,
            errors={f"adjust_{k}": v for k, v in errors.items()},
            adjust_points=raw,
            adjust_reason=reason,
            adjust_open=True,
        )
    card.refresh_from_db(fields=["balance"])
    messages.success(
        request,
        _("Points corrected: %(points)+d. Balance: %(balance)s.")
        % {"points": points, "balance": q.points_text(card.balance)},
    )
    return redirect("loyalty:counter_card", pk=card.pk)
