"""The staff menu, built once for both of its shapes: the top bar on a laptop, the bottom bar
and its "Menu" button on a phone. Counter staff get the counter first (their screen all day)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from cueillette.core.permissions import Perm, role_has

PHONE_BAR_SIZE = 4  # items in the phone's bottom bar; the rest behind "Menu"


@dataclass(frozen=True)
class Item:
    key: str
    url: str
    label: str
    current: bool


def _is_loyalty_admin(url_name: str) -> bool:
    return "program" in url_name or url_name in ("dashboard", "dashboard_csv")


def staff_menu(request: HttpRequest) -> list[Item]:
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    match = getattr(request, "resolver_match", None)
    app = match.app_name if match else ""
    name = match.url_name or "" if match else ""
    items = [
        Item("home", reverse("web:home"), _("Home"), app == "web" and name == "home"),
        Item(
            "customers",
            reverse("customers:list"),
            _("Customers"),
            app == "customers" and name != "audit",
        ),
        Item(
            "counter",
            reverse("loyalty:counter"),
            _("Counter"),
            app == "loyalty" and not _is_loyalty_admin(name),
        ),
    ]
    if role_has(role, Perm.VIEW_LOYALTY_REPORTS):
        url = reverse("loyalty:dashboard")
        items.append(
            Item("loyalty", url, _("Loyalty"), app == "loyalty" and _is_loyalty_admin(name))
        )
    if role_has(role, Perm.REPLY_COMMUNITY):
        url = reverse("community:inbox")
        items.append(Item("community", url, _("Community"), app == "community"))
    if role_has(role, Perm.SEND_CAMPAIGNS):
        url = reverse("messaging:campaigns")
        items.append(Item("messaging", url, _("Messages"), app == "messaging"))
    if role_has(role, Perm.VIEW_FEEDBACK):
        items.append(Item("feedback", reverse("feedback:nps"), _("Feedback"), app == "feedback"))
    if role_has(role, Perm.MANAGE_REFERRALS) or role_has(role, Perm.VIEW_ADVOCATES):
        target = (
            "referrals:list" if role_has(role, Perm.MANAGE_REFERRALS) else "referrals:advocates"
        )
        items.append(Item("referrals", reverse(target), _("Referrals"), app == "referrals"))
    if role_has(role, Perm.VIEW_INSIGHTS):
        items.append(
            Item("insights", reverse("insights:overview"), _("Insights"), app == "insights")
        )
    if role_has(role, Perm.VIEW_EVENTS):
        items.append(Item("events", reverse("events:index"), _("Sessions"), app == "events"))
    if role == "counter":
        # The counter first, then the customers: the two screens of the till.
        order = {"counter": 0, "customers": 1}
        items.sort(key=lambda item: order.get(item.key, 2))
    return items
