"""Joining with an invitation: the join page's rules plus the referral, in one transaction.

Used by the landing page of a referral link (``/o/<slug>/r/<code>/``) and by the join page's
"Have a code?" field. The friend joins exactly as on the join page
(:func:`cueillette.customers.portal.join`: only the consents they ticked), then the referral
is recorded by :func:`cueillette.referrals.services.record_referral`, which decides what is
refused and what is flagged. A refusal rolls the whole join back: nothing is written.

An address that already belongs to a customer changes nothing (anyone can type an address, as
on the join page): that customer is sent a link to their space and no referral is recorded,
except when it is the referrer's own address, which is refused as a self-referral.

A self-referral is refused to the visitor in their own words, next to the email and phone they
typed, and without saying which detail matched: anyone holding a link could otherwise test
whether an email or a phone belongs to the referrer. Staff (counter, API) keep the precise
reason of :func:`services.record_referral`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.customers import portal
from cueillette.customers.models import ConsentWording, Customer
from cueillette.customers.services import CustomerInput
from cueillette.referrals import services
from cueillette.referrals.errors import Code
from cueillette.referrals.models import Referral, ReferralCode, ReferralSource

#: How a friend who joined with an invitation appears in the audit log (never by name).
ACTOR_LABEL = "referral invitation"


def actor() -> Actor:
    return Actor.customer(ACTOR_LABEL)


def source_of(found: ReferralCode, value: str) -> str:
    """ "link" when the value was the link token, "code" when it was the short code."""
    return ReferralSource.LINK if value.strip() == found.token else ReferralSource.CODE


@dataclass(frozen=True)
class ReferredJoin:
    """What happened (for the code and the tests); the visitor's page says it kindly."""

    customer: Customer | None
    existing: bool
    referral: Referral | None


@transaction.atomic
def join_with_invitation(
    data: CustomerInput,
    consents: Mapping[str, ConsentWording],
    *,
    language: str,
    value: str,
    source: str | None = None,
) -> ReferredJoin:
    """Join (as the join page does) and record the referral from the code or link ``value``.

    Raises the ``ServiceError`` of :func:`services.find_code` (unknown code, field "code") or
    of :func:`services.record_referral` (closed program...; a self-referral in the visitor's
    words, see :func:`friend_facing_refusal`): nothing is written.
    """
    try:
        return _join(data, consents, language=language, value=value, source=source)
    except ServiceError as exc:
        if exc.code != Code.SELF_REFERRAL:
            raise
        raise friend_facing_refusal(exc, data) from exc


def friend_facing_refusal(exc: ServiceError, data: CustomerInput) -> ServiceError:
    """The self-referral refusal as the visitor reads it: the same words whatever matched,
    next to each of the email and phone fields they filled in."""
    message = _(
        "This invitation cannot be used with these details. Join without the invitation, or "
        "ask the person who invited you."
    )
    fields = [name for name in ("email", "phone") if str(getattr(data, name) or "").strip()]
    return ServiceError(
        exc.code,
        message,
        field=fields[0] if fields else None,
        status=exc.status,
        errors=[{"field": name, "message": message} for name in fields],
    )


def _join(
    data: CustomerInput,
    consents: Mapping[str, ConsentWording],
    *,
    language: str,
    value: str,
    source: str | None,
) -> ReferredJoin:
    try:
        found = services.find_code(value)
    except ServiceError as exc:
        # Next to the join page's "Have a code?" field.
        raise ServiceError(exc.code, exc.message, field="referral_code", status=exc.status) from exc
    source = source or source_of(found, value)
    if not services.get_program().enabled:
        # Said before anything is written (record_referral would say it after the join).
        raise ServiceError(Code.PROGRAM_CLOSED, _("the referral program is closed"))
    result = portal.join(data, consents, language=language)
    if result.existing:
        if result.customer is not None and result.customer.pk == found.customer_id:
            # The referrer typed their own address: the service refuses it and says why.
            services.record_referral(found.customer, result.customer, source=source, actor=actor())
        return ReferredJoin(customer=result.customer, existing=True, referral=None)
    assert result.customer is not None
    referral = services.record_referral(
        found.customer, result.customer, source=source, actor=actor()
    )
    return ReferredJoin(customer=result.customer, existing=False, referral=referral)
