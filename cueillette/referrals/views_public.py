"""Referrals on the public side (namespace "public", under ``/o/<slug>/``).

* ``space/refer/`` (``public:referral_share``): the member's page in their space: personal
  link, short code, QR code, a ready-to-share message, how many of their referrals are
  confirmed or pending and the points earned. Counts only: the landing page promises the friend
  that the member sees nothing about them (not who joined, nor what became of each referral).
* ``space/refer/qr.svg`` (``public:referral_qr``): the QR code of that link, served by us.
* ``r/<code>/`` (``public:referral_landing``): "Claire invites you to <business>", what both
  get, and the join form. The code is the short code or the link's token.

The landing page is what a friend opens from a shared link, so it keeps the promise of the
issue: **a visit records nothing and sets no cookie**. It reads the code, renders, and that is
all; in particular it has no CSRF cookie. Its form's POST is therefore exempt from Django's
token check and protected instead by the browser's own statement of where the request comes
from (``Sec-Fetch-Site``, else ``Origin``, else ``Referer``): a form posted from another site
is refused (the site's ``Referrer-Policy: same-origin`` keeps the real ``Origin`` on our own
forms, and keeps the link's token from leaking to other sites). The POST is also rate-limited
and has the join page's honeypot.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentWording, Customer, HeardFrom, Purpose
from cueillette.loyalty import services as loyalty_services
from cueillette.loyalty.portal import money
from cueillette.public.forms import JoinForm, add_service_errors
from cueillette.public.views import (
    _rate_limited,
    _too_many,
    joined_card_context,
    portal_required,
    remember_joined,
)
from cueillette.referrals import joining, services
from cueillette.referrals.models import ReferralCode, ReferralProgram

LANGUAGES = (("fr", "Français"), ("en", "English"))


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def link_of(org: Organization, code: ReferralCode) -> str:
    """The member's personal link: the unguessable token, no personal data."""
    return _absolute(
        reverse("public:referral_landing", kwargs={"slug": org.slug, "code": code.token})
    )


def gifts(program: ReferralProgram, org: Organization, referrer_name: str = "") -> dict[str, str]:
    """What both get, in plain words (the current language), from the organization's rules."""
    condition = (
        _("after your first purchase of at least %(amount)s")
        % {"amount": money(program.min_amount, org.currency)}
        if program.min_amount > 0
        else _("after your first purchase")
    )
    # The same condition seen from the referrer's side: their friend's first purchase.
    their = (
        _("after their first purchase of at least %(amount)s")
        % {"amount": money(program.min_amount, org.currency)}
        if program.min_amount > 0
        else _("after their first purchase")
    )
    confirmed_by = (
        _("A referral is confirmed by your friend's first purchase of at least %(amount)s.")
        % {"amount": money(program.min_amount, org.currency)}
        if program.min_amount > 0
        else _("A referral is confirmed by your friend's first purchase.")
    )
    out = {
        "condition": condition,
        "their_condition": their,
        "confirmed_by": confirmed_by,
        "friend": "",
        "referrer": "",
    }
    if program.friend_points:
        out["friend"] = ngettext(
            "%(points)s welcome point on your loyalty card, %(condition)s.",
            "%(points)s welcome points on your loyalty card, %(condition)s.",
            program.friend_points,
        ) % {
            "points": program.friend_points,
            "condition": condition,
        }
    if program.referrer_points:
        who = referrer_name or _("the person who invited you")
        out["referrer"] = ngettext(
            "%(points)s point for %(name)s, to thank them, %(condition)s.",
            "%(points)s points for %(name)s, to thank them, %(condition)s.",
            program.referrer_points,
        ) % {
            "points": program.referrer_points,
            "name": who,
            "condition": condition,
        }
    return out


def share_message(
    org: Organization, program: ReferralProgram, code: ReferralCode, url: str, language: str
) -> dict[str, str]:
    """The ready-to-share message and its subject, written in ``language``."""
    with translation.override(language):
        subject = _("An invitation to %(name)s") % {"name": org.name}
        lines = [
            _("Hello! I am a customer of %(name)s and I recommend it.") % {"name": org.name},
            _("Join with my invitation: %(url)s") % {"url": url},
            _("Or give my code %(code)s when you register.") % {"code": code.code},
        ]
        if program.friend_points:
            # With its condition (the minimum amount), as every promise of points.
            lines.append(
                ngettext(
                    "You will get %(points)d welcome point %(condition)s.",
                    "You will get %(points)d welcome points %(condition)s.",
                    program.friend_points,
                )
                % {"points": program.friend_points, "condition": gifts(program, org)["condition"]}
            )
        return {"subject": subject, "text": "\n".join(lines)}


# --------------------------------------------------------------------------- the member's page


@never_cache
@public_org
@portal_required
@require_GET
def share(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    program = services.get_program()
    context: dict[str, Any] = {"org": org, "customer": customer, "program": program}
    if not program.enabled:
        return render(request, "referrals/public/share_closed.html", context)
    code = services.code_for(customer)
    url = link_of(org, code)
    current = request.LANGUAGE_CODE
    msg_lang = request.GET.get("msg", current)
    if msg_lang not in dict(LANGUAGES):
        msg_lang = current
    messages = {lang: share_message(org, program, code, url, lang) for lang, _label in LANGUAGES}
    context.update(
        code=code,
        url=url,
        gifts=gifts(program, org),
        message=messages[msg_lang],
        msg_lang=msg_lang,
        languages=[
            {"code": lang, "label": label, "message": messages[lang]} for lang, label in LANGUAGES
        ],
        # Counts only, never who nor what became of each friend (the landing page's promise).
        summary=services.member_summary(customer),
        # Points go on a loyalty card: without one, say how to get it.
        has_card=loyalty_services.open_card_for(customer) is not None,
    )
    return render(request, "referrals/public/share.html", context)


@never_cache
@public_org
@portal_required
@require_GET
def share_qr(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    """The QR code of the member's personal link, as SVG (never cached by shared caches)."""
    import segno

    program = services.get_program()
    if not program.enabled:
        return HttpResponse(status=404)
    url = link_of(org, services.code_for(customer))
    buf = io.BytesIO()
    segno.make(url, error="m").save(
        buf,
        kind="svg",
        scale=8,
        border=4,
        xmldecl=False,
        omitsize=True,
        dark="#000",
        light="#fff",
        title=_("QR code of your invitation to %(name)s") % {"name": org.name},
    )
    response = HttpResponse(buf.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- the friend's page


def _program_read_only() -> ReferralProgram:
    """The rules, without creating the row on first use: a visit writes nothing at all."""
    return ReferralProgram.objects.first() or ReferralProgram()


def _cross_site(request: HttpRequest) -> bool:
    """Did another site make the browser post this form? (what CSRF protection is about)"""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site not in ("same-origin", "none")
    host = request.get_host()
    origin = request.headers.get("Origin")
    if origin:
        return origin == "null" or urlsplit(origin).netloc != host
    referer = request.headers.get("Referer")
    if referer:
        return urlsplit(referer).netloc != host
    # No browser statement at all: not a browser (browsers send Origin on every form POST).
    return False


def _landing_form(wordings: dict[str, ConsentWording], data: Any = None) -> JoinForm:
    form = JoinForm(data, wordings=wordings)
    # They came from a friend: the invitation says how, and the code is in the address.
    for name in ("heard_from", "referral_code"):
        form.fields.pop(name, None)
    return form


def _unknown(request: HttpRequest, org: Organization, *, closed: bool = False) -> HttpResponse:
    return render(
        request, "referrals/public/unknown.html", {"org": org, "closed": closed}, status=404
    )


@never_cache
@csrf_exempt  # no cookie on this page: see the module docstring and _cross_site
@public_org
@require_http_methods(["GET", "POST"])
def landing(request: HttpRequest, org: Organization, code: str) -> HttpResponse:
    try:
        found = services.find_code(code)
    except ServiceError:
        return _unknown(request, org)
    program = _program_read_only()
    if not program.enabled:
        return _unknown(request, org, closed=True)
    referrer_name = (found.customer.first_name or "").strip()
    lang = request.LANGUAGE_CODE
    wordings = customer_services.current_wordings(lang)
    status = 200
    if request.method == "POST":
        if _cross_site(request):
            return HttpResponse(_("This form can only be sent from our own page."), status=403)
        if _rate_limited(request, "join"):
            return _too_many(request, org)
        form = _landing_form(wordings, request.POST)
        if form.is_bot:
            return redirect("public:referral_joined", slug=org.slug, code=code)
        if form.is_valid():
            ids = [form.cleaned_data.get(f"wording_{p}") or 0 for p in Purpose.values]
            shown = {w.pk: w for w in ConsentWording.objects.filter(pk__in=ids)}
            data = dataclasses.replace(form.customer_data(), heard_from=HeardFrom.FRIEND)
            try:
                result = joining.join_with_invitation(
                    data, form.ticked(shown), language=lang, value=code
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                # The card at once, for a record this browser created (public.views).
                remember_joined(request, org, None if result.existing else result.customer)
                return redirect("public:referral_joined", slug=org.slug, code=code)
        status = 400
    else:
        form = _landing_form(wordings)
    context = {
        "org": org,
        "form": form,
        "code": code,
        "referrer_name": referrer_name,
        "program": program,
        "gifts": gifts(program, org, referrer_name),
    }
    return render(request, "referrals/public/landing.html", context, status=status)


@never_cache
@public_org
@require_GET
def joined(request: HttpRequest, org: Organization, code: str) -> HttpResponse:
    """After the landing page's form: the same words whatever happened (nothing leaks)."""
    program = _program_read_only()
    context = {"org": org, "program": program, "code": code, **joined_card_context(request, org)}
    return render(request, "referrals/public/joined.html", context)
