"""Public pages of one organization (``/o/<slug>/``) and the customer's own space.

Every view is wrapped in ``@public_org``: the organization comes from the slug, becomes the
current tenant, and the page speaks its language unless the visitor chose another.

Links sent by email (double opt-in, magic link) show a button on GET and act only on the
button's POST: mail scanners open links, they do not press buttons.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.accounts.ratelimit import client_ip
from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tenancy import access
from cueillette.customers import portal, queries, services
from cueillette.customers.errors import Code
from cueillette.customers.models import (
    ConsentWording,
    Customer,
    EmailConfirmation,
    Purpose,
)
from cueillette.public.forms import EmailForm, JoinForm, ProfileForm, add_service_errors

# Public forms (join, magic link) accepted per IP address and window.
RATE_LIMIT = int(getattr(settings, "PUBLIC_FORM_RATE_LIMIT", 20))
RATE_WINDOW = int(getattr(settings, "PUBLIC_FORM_RATE_WINDOW", 3600))


def _rate_limited(request: HttpRequest, kind: str) -> bool:
    """Count one submission from this client; True once it is over the limit for the window.

    The client is ``client_ip`` (behind the trusted proxies), not the connecting address: behind
    a reverse proxy that one is the proxy's, shared by every visitor."""
    digest = hashlib.sha256(client_ip(request).encode("utf-8")).hexdigest()[:32]
    key = f"ratelimit:public-{kind}:{digest}"
    cache.add(key, 0, RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW)
        count = 1
    return count > RATE_LIMIT


def _too_many(request: HttpRequest, org: Organization) -> HttpResponse:
    response = render(request, "public/rate_limited.html", {"org": org}, status=429)
    response["Retry-After"] = str(RATE_WINDOW)
    return response


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def _link_problem(
    request: HttpRequest, org: Organization, exc: ServiceError, *, kind: str
) -> HttpResponse:
    """A clear page for an expired, used or broken link: never a crash."""
    status = 410 if exc.code in (Code.TOKEN_EXPIRED, Code.TOKEN_USED) else 400
    context = {"org": org, "code": exc.code, "kind": kind, "message": exc.message}
    return render(request, "public/link_problem.html", context, status=status)


# --------------------------------------------------------------------------- joining


@public_org
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, org: Organization) -> HttpResponse:
    lang = request.LANGUAGE_CODE
    wordings = services.current_wordings(lang)
    if request.method == "POST":
        if _rate_limited(request, "join"):
            return _too_many(request, org)
        form = JoinForm(request.POST, wordings=wordings)
        if form.is_bot:
            # Same answer as a success: a bot learns nothing.
            return redirect("public:join_done", slug=org.slug)
        if form.is_valid():
            ids = [form.cleaned_data.get(f"wording_{p}") or 0 for p in Purpose.values]
            shown = {w.pk: w for w in ConsentWording.objects.filter(pk__in=ids)}
            code = form.cleaned_data.get("referral_code") or ""
            try:
                if code:
                    # A friend's code: the join and the referral in one transaction.
                    from cueillette.referrals import joining

                    result: Any = joining.join_with_invitation(
                        form.customer_data(), form.ticked(shown), language=lang, value=code
                    )
                else:
                    result = portal.join(form.customer_data(), form.ticked(shown), language=lang)
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                remember_joined(request, org, None if result.existing else result.customer)
                return redirect("public:join_done", slug=org.slug)
    else:
        form = JoinForm(wordings=wordings)
    return render(request, "public/join.html", {"org": org, "form": form})


JOINED_AGE = 3600  # the thank-you page shows the new card for an hour in this browser


def _joined_key(org: Organization) -> str:
    return f"public_joined_{org.pk}"


def remember_joined(request: HttpRequest, org: Organization, customer: Customer | None) -> None:
    """This browser just created ``customer``: its thank-you page may show the new card.

    Only a record this browser created (never an existing one found by the email typed:
    anyone can type an address), and only for a while.
    """
    if customer is None:
        request.session.pop(_joined_key(org), None)
        return
    request.session[_joined_key(org)] = {
        "customer": customer.pk,
        "expires": time.time() + JOINED_AGE,
    }


def joined_card_context(request: HttpRequest, org: Organization) -> dict[str, Any]:
    """The new member's card for a thank-you page (number, QR, the phone's wallet link) and
    what still waits for an email confirmation; empty when this browser created no member."""
    data = request.session.get(_joined_key(org))
    if not isinstance(data, dict) or float(data.get("expires", 0)) < time.time():
        return {}
    customer = Customer.objects.filter(pk=data.get("customer"), status="active").first()
    if customer is None:
        return {}
    from cueillette.loyalty import portal as loyalty_portal
    from cueillette.loyalty import services as loyalty_services

    pending = [str(Purpose(p).label) for p in queries.pending_confirmations(customer)]
    context: dict[str, Any] = {"joined": customer, "pending": pending}
    card = loyalty_services.open_card_for(customer)
    if card is None:
        return context
    program = loyalty_services.get_program()
    color = loyalty_portal.safe_color(program.card_color)
    token = loyalty_portal.wallet_token(card)
    context.update(
        card=card,
        customer=customer,
        program=program,
        color=color,
        text_on=loyalty_portal.text_on(color),
        qr=loyalty_portal.qr_svg(card.number, title=_("QR code of your card")),
        wallet_url=reverse("public:wallet", kwargs={"slug": org.slug, "token": token}),
    )
    return context


@never_cache
@public_org
def join_done(request: HttpRequest, org: Organization) -> HttpResponse:
    """Thank you; a new member sees their card at once (the loyalty consent needs no email
    confirmation: only news by email waits for the click in the email)."""
    context = {"org": org, **joined_card_context(request, org)}
    return render(request, "public/join_done.html", context)


@public_org
def poster(request: HttpRequest, org: Organization) -> HttpResponse:
    join_url = _absolute(reverse("public:join", kwargs={"slug": org.slug}))
    short_url = join_url.split("://", 1)[-1]
    return render(
        request, "public/poster.html", {"org": org, "join_url": join_url, "short_url": short_url}
    )


@public_org
def poster_qr(request: HttpRequest, org: Organization) -> HttpResponse:
    """The QR code of the join page, as SVG (sharp at any print size)."""
    import io

    import segno

    join_url = _absolute(reverse("public:join", kwargs={"slug": org.slug}))
    qr = segno.make(join_url, error="m")
    buf = io.BytesIO()
    qr.save(
        buf,
        kind="svg",
        scale=10,
        border=4,
        xmldecl=False,
        omitsize=True,
        title=_("Join %(name)s") % {"name": org.name},
    )
    response = HttpResponse(buf.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """Double opt-in: GET shows the wording and a button; only the button's POST confirms."""
    try:
        if request.method == "POST":
            event = services.confirm_email_consent(token)
            return render(
                request, "public/confirm_done.html", {"org": org, "wording": event.wording}
            )
        pending = services.pending_confirmation(token)
    except ServiceError as exc:
        return _link_problem(request, org, exc, kind="confirm")
    return render(request, "public/confirm_email.html", {"org": org, "pending": pending})


# --------------------------------------------------------------------------- magic link


def _session_key(org: Organization) -> str:
    return f"portal_customer_{org.pk}"


def _portal_customer(request: HttpRequest, org: Organization) -> Customer | None:
    """The customer whose space this browser opened for ``org``, if still open."""
    key = _session_key(org)
    data = request.session.get(key)
    if not isinstance(data, dict):
        return None
    if data.get("org") != org.pk or float(data.get("expires", 0)) < time.time():
        request.session.pop(key, None)
        return None
    # 404 for a record of another organization (the session cannot say so, but be sure).
    customer = access(Customer, data.get("customer"))
    if not customer.is_active:
        request.session.pop(key, None)
        return None
    return customer


PortalView = Callable[..., HttpResponse]


def portal_required(view: PortalView) -> PortalView:
    """Pages of the customer's space: ``view(request, org, customer, ...)``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, org: Organization, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = _portal_customer(request, org)
        if customer is None:
            messages.info(request, _("Your space is closed. Ask for a new link to open it again."))
            link = reverse("public:portal_request", kwargs={"slug": org.slug})
            # Once open, the space shows the page asked for (a page to read, not a form's POST;
            # the space's home is where it opens anyway).
            back = portal.safe_next(org.slug, request.get_full_path())
            home = reverse("public:portal", kwargs={"slug": org.slug})
            if request.method in ("GET", "HEAD") and back and back != home:
                link += "?" + urlencode({"next": back}, safe="/")
            return redirect(link)
        return view(request, org, customer, *args, **kwargs)

    return wrapper


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def portal_request(request: HttpRequest, org: Organization) -> HttpResponse:
    """Ask for a magic link. The answer never tells whether the address is known.

    ``next`` (a page of this organization, e.g. a community thread) rides along in a hidden
    field and then in the emailed link: opening the space leads there.
    """
    source = request.POST if request.method == "POST" else request.GET
    next_path = portal.safe_next(org.slug, source.get("next", ""))
    if request.method == "POST":
        if _rate_limited(request, "portal"):
            return _too_many(request, org)
        form = EmailForm(request.POST)
        if form.is_valid():
            if not form.cleaned_data.get("website"):
                portal.request_portal_link(form.cleaned_data["email"], next_path=next_path)
            return render(request, "public/portal_sent.html", {"org": org})
    else:
        form = EmailForm()
    context = {"org": org, "form": form, "next": next_path}
    return render(request, "public/portal_request.html", context)


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def portal_open(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """GET shows "Open my space" (the token stays unused); the button's POST opens it, then
    leads to ``next`` if it is a page of this organization (the space's home otherwise)."""
    next_path = portal.safe_next(org.slug, request.POST.get("next") or request.GET.get("next", ""))
    try:
        if request.method == "POST":
            customer = portal.open_portal(token)
        else:
            portal.portal_token(token)
            context = {"org": org, "next": next_path}
            return render(request, "public/portal_open.html", context)
    except ServiceError as exc:
        return _link_problem(request, org, exc, kind="portal")
    # A new session id: whoever knew the old one does not get the space.
    request.session.cycle_key()
    request.session[_session_key(org)] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + portal.PORTAL_SESSION_AGE,
    }
    if next_path:
        return redirect(next_path)
    return redirect("public:portal", slug=org.slug)


# --------------------------------------------------------------------------- the space


def _consent_rows(customer: Customer, lang: str) -> list[dict[str, Any]]:
    state = services.consent_state(customer)
    pending = queries.pending_confirmations(customer)
    wordings = services.current_wordings(lang)
    rows = []
    for p in Purpose.values:
        status = queries.consent_status(p, state.get(p), pending.get(p))
        rows.append(
            {
                "purpose": p,
                "label": Purpose(p).label,
                "status": status,
                "latest": status.event,
                "granted": status.granted,
                "pending": status.pending,
                "wording": wordings[p],
            }
        )
    return rows


@never_cache
@public_org
@portal_required
def portal_home(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    context = {
        "org": org,
        "customer": customer,
        "consents": _consent_rows(customer, request.LANGUAGE_CODE),
        "ledger": queries.ledger(services.history_ids(customer)),
    }
    return render(request, "public/portal.html", context)


@never_cache
@public_org
@portal_required
@require_http_methods(["GET", "POST"])
def portal_edit(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.update_customer(
                    customer, form.customer_data(), actor=portal.portal_actor()
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Your details are saved."))
                return redirect("public:portal", slug=org.slug)
    else:
        form = ProfileForm(initial=ProfileForm.initial_from(customer))
    return render(request, "public/portal_edit.html", {"org": org, "form": form})


@never_cache
@public_org
@portal_required
@require_POST
def portal_consent(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    """One click: give or withdraw one purpose (giving news by email asks for confirmation)."""
    purpose = request.POST.get("purpose", "")
    decision = request.POST.get("decision", "")
    if purpose not in Purpose.values or decision not in ("give", "withdraw"):
        messages.error(request, _("This choice is not known: nothing was changed."))
        return redirect(reverse("public:portal", kwargs={"slug": org.slug}) + "#consents")
    granted = decision == "give"
    wording = None
    wording_id = request.POST.get("wording", "")
    if granted and wording_id.isdigit():
        wording = ConsentWording.objects.filter(pk=int(wording_id), purpose=purpose).first()
    try:
        # Loyalty hears CONSENT_CHANGED: the loyalty consent issues or closes the card.
        result = portal.change_consent(
            customer, purpose, granted, language=request.LANGUAGE_CODE, wording=wording
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        label = Purpose(purpose).label
        if isinstance(result, EmailConfirmation):
            messages.success(
                request,
                _("Almost done: we sent you an email. Press the button in it to confirm “%(p)s”.")
                % {"p": label},
            )
        elif granted:
            messages.success(request, _("Thank you: “%(p)s” is on.") % {"p": label})
        else:
            messages.success(
                request, _("Done: “%(p)s” is off. You will not be contacted for it.") % {"p": label}
            )
    return redirect(reverse("public:portal", kwargs={"slug": org.slug}) + "#consents")


@never_cache
@public_org
@portal_required
@require_POST
def portal_export(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    try:
        content = portal.export_zip(customer)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("public:portal", slug=org.slug)
    day = timezone.localdate().isoformat()
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{org.slug}-my-data-{day}.zip"'
    return response


@never_cache
@public_org
@portal_required
@require_http_methods(["GET", "POST"])
def portal_erase(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    if request.method == "POST":
        services.erase_customer(customer, actor=portal.portal_actor(), reason="self")
        request.session.pop(_session_key(org), None)
        return render(request, "public/portal_erased.html", {"org": org})
    return render(request, "public/portal_erase.html", {"org": org, "customer": customer})


@public_org
@require_POST
def portal_logout(request: HttpRequest, org: Organization) -> HttpResponse:
    request.session.pop(_session_key(org), None)
    messages.info(request, _("You left your space. Ask for a new link to come back."))
    return redirect("public:portal_request", slug=org.slug)
