"""Helpers shared by the staff-side tests (pages, API, emails, dashboard)."""

from __future__ import annotations

from typing import Any

from cueillette.accounts.models import Membership, User
from cueillette.community import services
from cueillette.community.models import (
    Appeal,
    MeToo,
    ModerationEvent,
    Post,
    PostVersion,
    Reply,
    ThreadSubscription,
)
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, Purpose


def member(user: User) -> Membership:
    return Membership.objects.get(user=user)


def make_post(customer: Customer, **kwargs: Any) -> Post:
    values: dict[str, Any] = {
        "kind": "complaint",
        "text": "Le service était vraiment lent, je suis déçu.",
        "display_name": "Marie",
    }
    values.update(kwargs)
    return services.create_post(customer, **values)


def consent(customer: Customer) -> None:
    customer_services.record_consent(
        customer, Purpose.COMMUNITY, True, source="counter", actor=Actor.system()
    )


def counts() -> tuple[int, ...]:
    """Every row the community page writes, and the audit log."""
    return (
        Post.objects.count(),
        PostVersion.objects.count(),
        Reply.objects.count(),
        ModerationEvent.objects.count(),
        Appeal.objects.count(),
        MeToo.objects.count(),
        ThreadSubscription.objects.count(),
        AuditEvent.objects.count(),
    )
