"""Automatic messages: each one a class for the gate, a switch and words for the owner.

They are triggered by the actions' consequences (``core.consequences``, after commit), never
by a page: ``customer.joined`` → welcome, ``reward.available`` → reward available. Time-based
ones (birthday, "we miss you", a reward reached by points) are daily scans in ``tasks``.
Messages other apps write (thread replies, NPS requests, expiry warnings) keep their own
templates and ask the gate with their kind, so the owner's switch applies to them too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from cueillette.core import consequences
from cueillette.core.consequences import Consequence, Fired, Phase
from cueillette.core.tenancy import current_org, tenant_context
from cueillette.messaging.models import AutomaticMessage, Delivery, MessageClass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    code: str
    klass: str
    purposes: tuple[str, ...]
    label: Promise
    when: Promise
    also: tuple[str, ...] = ()
    default_on: bool = True
    editable: bool = True
    subject: Promise | str = ""
    body: Promise | str = ""


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "welcome",
            MessageClass.SERVICE,
            ("loyalty", "news_email"),
            _("Welcome"),
            _("when a customer joins (with the loyalty or news consent)"),
            # Off until the owner wants it: joining asks for a card, not for mail.
            default_on=False,
            subject=_("Welcome to {business}"),
            body=_(
                "Hello {first_name},\n\nThank you for joining {business}. Your space shows your "
                "card, your points and everything you agreed to: [open your space]({space_url})."
            ),
        ),
        Kind(
            "reward_available",
            MessageClass.SERVICE,
            ("loyalty",),
            _("Reward available"),
            _("when a member's points reach a reward"),
            subject=_("A reward is waiting for you at {business}"),
            body=_(
                "Hello {first_name},\n\nWith {points} points you can now have: **{reward}**. "
                "Ask for it at your next visit."
            ),
        ),
        Kind(
            "points_expiring",
            MessageClass.SERVICE,
            ("loyalty",),
            _("Points about to expire"),
            _("before a member's points expire (loyalty program settings)"),
            editable=False,
        ),
        Kind(
            "birthday",
            MessageClass.MARKETING,
            ("news_email",),
            _("Birthday"),
            _("on the customer's birthday, only with the personalised-offers consent"),
            also=("profiling",),
            default_on=False,
            subject=_("Happy birthday from {business}"),
            body=_(
                "Hello {first_name},\n\nThe whole team of {business} wishes you a happy birthday!"
            ),
        ),
        Kind(
            "we_miss_you",
            MessageClass.MARKETING,
            ("news_email",),
            _("We miss you"),
            _("after some weeks without a visit, only with the news consent"),
            default_on=False,
            subject=_("We miss you at {business}"),
            body=_(
                "Hello {first_name},\n\nWe have not seen you for a while at {business}. "
                "We would be glad to welcome you again."
            ),
        ),
        Kind(
            "thread_reply",
            MessageClass.SERVICE,
            ("community",),
            _("Reply in a followed thread"),
            _("when the business or someone replies in a thread the customer follows"),
            editable=False,
        ),
        Kind(
            "event_reminder",
            MessageClass.TRANSACTIONAL,
            (),
            _("Event reminder"),
            _("the day before a session, to each person with a seat (no promotion)"),
            editable=False,
        ),
        Kind(
            "event_feedback",
            MessageClass.SERVICE,
            ("feedback",),
            _("Question after an event"),
            _("after a session, one question to those who came, only with the feedback consent"),
            editable=False,
        ),
        Kind(
            "nps_request",
            MessageClass.SERVICE,
            ("feedback",),
            _("Feedback request (NPS)"),
            _("after a purchase or a visit (feedback settings: delay, sampling)"),
            editable=False,
        ),
    )
}


# Why the customer receives it, in the email's footer ("... because <reason>").
REASONS: dict[str, Promise] = {
    "loyalty": _("you are a member of our loyalty program"),
    "news_email": _("you agreed to receive news from us by email"),
}


def setting(kind: str) -> AutomaticMessage:
    """The owner's row for ``kind`` (an unsaved default until they change something)."""
    row = AutomaticMessage.objects.filter(kind=kind).first()
    if row is None:
        row = AutomaticMessage(
            organization=current_org(), kind=kind, enabled=KINDS[kind].default_on
        )
    return row


def words(kind: str, language: str) -> tuple[str, str]:
    """Subject and body in ``language``: the owner's, or our default."""
    row = setting(kind)
    k = KINDS[kind]
    own_subject = row.subject_en if language == "en" else row.subject_fr
    own_body = row.body_en if language == "en" else row.body_fr
    with override(language):
        return own_subject or str(k.subject), own_body or str(k.body)


def send(
    kind: str, customer: Any, *, dedupe_key: str, values: dict[str, Any] | None = None
) -> Delivery:
    """Ask the gate for one automatic message of ``kind`` to ``customer``."""
    from cueillette.messaging import gate, render

    org = current_org()
    k = KINDS[kind]
    language = customer.language if customer.language in ("fr", "en") else org.language
    subject, body = words(kind, language)
    space = settings.SITE_URL + reverse("public:portal_request", kwargs={"slug": org.slug})
    filled = {
        "first_name": customer.first_name or "",
        "business": org.name,
        "space_url": space,
        **(values or {}),
    }
    subject, text, html = render.compose(
        subject=subject,
        body=body,
        context={
            "organization": org,
            "values": filled,
            "unsubscribe_url": gate.UNSUBSCRIBE_PLACEHOLDER,
            "reason": REASONS.get(k.purposes[0], REASONS["news_email"]),
        },
        language=language,
    )
    return gate.request_message(
        gate.Message(
            kind=kind,
            klass=k.klass,
            subject=subject,
            text=text,
            html=html,
            customer=customer,
            purposes=k.purposes,
            also=k.also,
            language=language,
            dedupe_key=dedupe_key,
        )
    )


# --------------------------------------------------------------------------- subscribers


def _org_of(fired: Fired) -> Any:
    from cueillette.core.models import Organization

    if fired.organization_id is None:
        return None
    return Organization.objects.filter(pk=fired.organization_id).first()


NO_WELCOME_SOURCES = frozenset({"import", "merge", "system"})


def on_joined(fired: Fired) -> None:
    # An import or a merge is not someone joining today: no welcome for a whole file (and
    # the customer is not even read: an import's instances are made only when read).
    if str(fired.get("source", "")) in NO_WELCOME_SOURCES:
        return
    customer = fired["customer"]
    org = _org_of(fired)
    if org is None or not customer.email:
        return
    with tenant_context(org):
        send("welcome", customer, dedupe_key=f"welcome:{customer.pk}")


def on_joined_many(fireds: Sequence[Fired]) -> None:
    """:func:`on_joined` for a batch (an import: nothing to send, nothing read), each one on
    its own (a failure is logged and does not stop the others)."""
    for fired in fireds:
        if str(fired.get("source", "")) in NO_WELCOME_SOURCES:
            continue
        try:
            on_joined(fired)
        except Exception:
            log.exception("welcome message after %s failed", fired.name)


def on_reward_available(fired: Fired) -> None:
    card, reward = fired["card"], fired["reward"]
    org = _org_of(fired)
    if org is None:
        return
    with tenant_context(org):
        notify_reward(card, reward)


def notify_reward(card: Any, reward: Any, now: dt.datetime | None = None) -> Delivery:
    """Tell a member a reward is within reach: once until they redeem it (then once again)."""
    redeemed = card.redemptions.filter(reward=reward, cancelled_at__isnull=True).count()
    return send(
        "reward_available",
        card.customer,
        dedupe_key=f"reward_available:{card.pk}:{reward.pk}:{redeemed}",
        values={"points": card.balance, "reward": reward.name},
    )


def register() -> None:
    consequences.subscribe(
        Consequence.CUSTOMER_JOINED, on_joined, phase=Phase.AFTER_COMMIT, many=on_joined_many
    )
    consequences.subscribe(
        Consequence.REWARD_AVAILABLE, on_reward_available, phase=Phase.AFTER_COMMIT
    )
