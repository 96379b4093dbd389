"""The member's pages in the customer's space (``/o/<slug>/space/loyalty/``) and the phone wallet.

The space pages use the space's session (``portal_required``). The wallet page does not: it is
reached through a signed link (see :func:`cueillette.loyalty.portal.wallet_token`) so that, once
added to the home screen, it opens without a session and, through its service worker, offline.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, Purpose
from cueillette.loyalty import portal, services
from cueillette.loyalty.models import Card, Reward
from cueillette.public.views import portal_required

WALLET_ASSETS = (
    "loyalty/wallet/wallet.css",
    "loyalty/wallet/wallet.js",
    "loyalty/wallet/icon-192.png",
    "loyalty/wallet/icon-512.png",
    "loyalty/wallet/icon.svg",
)
_STATIC_DIR = Path(__file__).resolve().parent / "static"


def _space(org: Organization) -> str:
    return reverse("public:loyalty", kwargs={"slug": org.slug})


def _wallet_url(org: Organization, card: Card) -> str:
    return reverse("public:wallet", kwargs={"slug": org.slug, "token": portal.wallet_token(card)})


# --------------------------------------------------------------------------- the space


HISTORY_PAGE = 50  # ledger rows per page in the member's space


@never_cache
@public_org
@portal_required
@require_GET
def loyalty_home(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    """The member's card, balance, tier and why, rewards, expiry and history; or how to join."""
    program = services.get_program()
    card = services.open_card_for(customer)
    context: dict[str, object] = {"org": org, "customer": customer, "program": program}
    context["color"] = portal.safe_color(program.card_color)
    context["text_on"] = portal.text_on(context["color"])  # type: ignore[arg-type]
    if card is not None:
        view = portal.member_view(card)
        # The history, newest first, a page at a time (balances run from the very first entry).
        history = Paginator(view.history, HISTORY_PAGE).get_page(request.GET.get("page"))
        context.update(
            view=view,
            history=history,
            card=card,
            qr=portal.qr_svg(card.number, title=_("QR code of your card")),
            wallet_url=request.build_absolute_uri(_wallet_url(org, card)),
        )
        return render(request, "loyalty/portal/member.html", context)
    tiers = services.tiers()
    context.update(
        facts=portal.program_facts(program, tiers),
        tiers=tiers,
        rewards=list(Reward.objects.filter(active=True).order_by("cost", "name")[:12]),
        wording=customer_services.current_wording(Purpose.LOYALTY, request.LANGUAGE_CODE),
        closed_cards=[c for c in portal.cards_of(customer) if not c.is_open],
    )
    return render(request, "loyalty/portal/join.html", context)


@never_cache
@public_org
@portal_required
@require_POST
def loyalty_join(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    try:
        services.join_program(
            customer,
            actor=Actor.customer(),
            source="portal",
            language=request.LANGUAGE_CODE,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Welcome! Your loyalty card is ready."))
    return redirect(_space(org))


@never_cache
@public_org
@portal_required
@require_http_methods(["GET", "POST"])
def loyalty_leave(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    """GET explains what leaving does; the button's POST closes the card."""
    card = services.open_card_for(customer)
    if card is None:
        return redirect(_space(org))
    if request.method == "POST":
        services.leave_program(card, actor=Actor.customer(), source="portal")
        messages.success(
            request,
            _(
                "You left the loyalty program: your card is closed and you will get no more "
                "loyalty messages. Your history stays in “Download my data”."
            ),
        )
        return redirect(_space(org))
    view = portal.member_view(card)
    return render(
        request,
        "loyalty/portal/leave.html",
        {"org": org, "card": card, "balance": view.balance, "program": view.program},
    )


@never_cache
@public_org
@portal_required
@require_GET
def loyalty_card_print(request: HttpRequest, org: Organization, customer: Customer) -> HttpResponse:
    """The card at credit-card size, to print and cut out."""
    card = services.open_card_for(customer)
    if card is None:
        return redirect(_space(org))
    program = services.get_program()
    color = portal.safe_color(program.card_color)
    context = {
        "org": org,
        "customer": customer,
        "program": program,
        "card": card,
        "color": color,
        "text_on": portal.text_on(color),
        "qr": portal.qr_svg(card.number, title=_("QR code of your card")),
    }
    return render(request, "loyalty/portal/print.html", context)


# --------------------------------------------------------------------------- the wallet


def _wallet_card(org: Organization, token: str) -> Card:
    try:
        return portal.card_for_wallet(token, org)
    except portal.WalletTokenInvalid as exc:
        raise Http404 from exc


def _private(response: HttpResponse) -> HttpResponse:
    # The link is the key to the card: keep it out of shared caches and search engines.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@public_org
@require_GET
def wallet(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """The card on the phone: number, QR code, name and balance. No session needed."""
    card = _wallet_card(org, token)
    program = services.get_program()
    color = portal.safe_color(program.card_color)
    if not portal.card_is_usable(card):
        response = render(
            request,
            "loyalty/portal/wallet_closed.html",
            {"org": org, "program": program, "color": color},
            status=410,
        )
        return _private(response)
    now = timezone.now()
    state = services.replay(card)
    base = reverse("public:wallet", kwargs={"slug": org.slug, "token": token})
    context = {
        "org": org,
        "program": program,
        "card": card,
        "customer": card.customer,
        "balance": state.available_at(now),
        "as_of": now,
        "tier": services.current_tier(card),
        "color": color,
        "text_on": portal.text_on(color),
        "qr": portal.qr_svg(card.number, title=_("QR code of your card")),
        "manifest_url": base + "manifest.webmanifest",
        "sw_url": base + "sw.js",
    }
    return _private(render(request, "loyalty/portal/wallet.html", context))


@public_org
@require_GET
def wallet_manifest(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """The web app manifest that makes the wallet installable on the home screen."""
    card = _wallet_card(org, token)
    if not portal.card_is_usable(card):
        return _private(HttpResponse(status=410))
    program = services.get_program()
    start = reverse("public:wallet", kwargs={"slug": org.slug, "token": token})
    manifest = {
        "id": start,
        "name": f"{program.name} · {org.name}",
        "short_name": program.name[:24],
        "description": _("Your loyalty card, to show at the counter, even offline."),
        "lang": request.LANGUAGE_CODE,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": portal.safe_color(program.card_color),
        "icons": [
            {"src": static("loyalty/wallet/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("loyalty/wallet/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("loyalty/wallet/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": static("loyalty/wallet/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2)
    return _private(HttpResponse(body, content_type="application/manifest+json; charset=utf-8"))


@cache
def _service_worker_source() -> str:
    return (_STATIC_DIR / "loyalty" / "wallet" / "sw.js").read_text(encoding="utf-8")


@public_org
@require_GET
def wallet_sw(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """The service worker, served under the wallet's path so that its scope is the wallet.

    The script itself is the static file ``loyalty/wallet/sw.js``; the list of assets to keep
    offline (with their static URLs) and a version are prepended.
    """
    _wallet_card(org, token)  # 404 for a forged token; a closed card still gets the worker,
    # whose next page fetch (410) clears the cached card.
    assets = [static(path) for path in WALLET_ASSETS]
    source = _service_worker_source()
    version = hashlib.sha256((source + "\n".join(assets)).encode()).hexdigest()[:12]
    body = (
        f"const WALLET_ASSETS = {json.dumps(assets)};\n"
        f"const WALLET_VERSION = {json.dumps(version)};\n" + source
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse(
        "public:wallet", kwargs={"slug": org.slug, "token": token}
    )
    return response
