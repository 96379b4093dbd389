"""Small display helpers of the customer pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from cueillette.customers.models import HeardFrom, Purpose, Source
from cueillette.customers.normalize import display_phone

register = template.Library()

AUDIT_ACTIONS: dict[str, Any] = {
    "customer.created": _("Customer registered"),
    "customer.updated": _("Customer details changed"),
    "customer.merged": _("Two records merged"),
    "customer.erased": _("Customer erased"),
    "customers.exported": _("Customer base exported"),
    "consent.granted": _("Consent recorded"),
    "consent.withdrawn": _("Consent withdrawn"),
    "consent.confirmation_requested": _("Confirmation email sent"),
    "consent.email_confirmed": _("Email confirmed by the customer"),
    "wording.new_version": _("Consent wording changed"),
    "customer.portal_link_sent": _("Link to their space sent"),
    "customer.portal_opened": _("Customer opened their space"),
    "customer.exported_by_self": _("Customer downloaded their data"),
    "customer.retention_warned": _("Inactivity warning sent"),
    "customers.imported": _("Customers imported"),
    "organization.created": _("Business opened"),
    "organization.updated": _("Business settings changed"),
    "member.invited": _("Staff member invited"),
    "member.joined": _("Staff member joined"),
    "member.role_changed": _("Role changed"),
    "member.removed": _("Staff member removed"),
    "invitation.revoked": _("Invitation withdrawn"),
    "api_key.created": _("API key created"),
    "api_key.revoked": _("API key revoked"),
    "loyalty.joined": _("Joined the loyalty program"),
    "loyalty.left": _("Left the loyalty program"),
    "loyalty.closed_on_erasure": _("Loyalty card closed (erasure)"),
    "loyalty.purchase": _("Purchase recorded"),
    "loyalty.refund": _("Refund recorded"),
    "loyalty.redeemed": _("Reward taken"),
    "loyalty.undone": _("Operation undone"),
    "loyalty.adjusted": _("Points adjusted by hand"),
    "loyalty.tier_changed": _("Tier changed"),
    "loyalty.expiry_warned": _("Points expiry warning sent"),
    "loyalty.program_updated": _("Loyalty program settings changed"),
    "loyalty.reward_created": _("Reward added"),
    "loyalty.reward_updated": _("Reward changed"),
    "loyalty.reward_deleted": _("Reward deleted"),
    "loyalty.tier_created": _("Tier added"),
    "loyalty.tier_updated": _("Tier changed"),
    "loyalty.report_exported": _("Loyalty report exported"),
}


@register.filter
def phone(value: str) -> str:
    """'+33612345678' -> '06 12 34 56 78'."""
    return display_phone(value or "")


@register.filter
def purpose_label(value: str) -> str:
    try:
        return str(Purpose(value).label)
    except ValueError:
        return value


@register.filter
def source_label(value: str) -> str:
    try:
        return str(Source(value).label)
    except ValueError:
        return value


@register.filter
def heard_from_label(value: str) -> str:
    try:
        return str(HeardFrom(value).label)
    except ValueError:
        return value


@register.filter
def consent_of(customer: Any, purpose: str) -> bool | None:
    """The ``consent_<purpose>`` annotation of a row (True, False, None for never asked)."""
    value = getattr(customer, f"consent_{purpose}", None)
    return None if value is None else bool(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def audit_label(action: str) -> str:
    label = AUDIT_ACTIONS.get(action)
    return str(label) if label is not None else action


@register.filter
def join_if_list(value: Any) -> str:
    """Audit data values: lists as "a, b", the rest as text."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@register.filter
def make_pair(first: Any, second: Any) -> tuple[Any, Any]:
    """Loop over two things side by side: ``{% for c in a|make_pair:b %}``."""
    return (first, second)
