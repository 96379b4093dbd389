"""The send gate's tables: every decision (sent or refused), suppressions, campaigns, segments,
automatic-message switches and the organization's pressure settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import TenantModel


class MessageClass(models.TextChoices):
    """How the gate treats a message (see ``rules.decide``)."""

    # Narrow: a confirmation the person just asked for, a magic link, a receipt. No promotion,
    # no consent needed, never capped, no unsubscribe link.
    TRANSACTIONAL = "transactional", _("Transactional")
    # Mail to the business's own team (invitations, password reset, digest): transactional.
    STAFF = "staff", _("Staff")
    # About something the customer uses (their card, a thread they follow): needs the consent of
    # its purpose, carries an unsubscribe link, not counted in the cap.
    SERVICE = "service", _("Service")
    # Campaigns and promotional automatic messages: consent, cap, quiet hours.
    MARKETING = "marketing", _("Marketing")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class Status(models.TextChoices):
    QUEUED = "queued", _("Waiting to be sent")
    DEFERRED = "deferred", _("Moved after quiet hours")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    REFUSED = "refused", _("Not sent")
    FAILED = "failed", _("Delivery failed")


class Reason(models.TextChoices):
    """Why a message was allowed or refused (stable codes, shown in words)."""

    ALLOWED = "allowed", _("Allowed by consent")
    TRANSACTIONAL = "transactional", _("Transactional: asked for by the person")
    NO_CONSENT = "no_consent", _("No consent for this purpose and channel")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    CAPPED = "capped", _("Enough messages lately (pressure cap)")
    QUIET_HOURS = "quiet_hours", _("Quiet hours: moved to the next allowed time")
    BOUNCED = "bounced", _("Address bounced or complained")
    SUPPRESSED = "suppressed", _("Address removed (cleaned import)")
    PAUSED = "paused", _("Messages paused by the customer")
    NO_ADDRESS = "no_address", _("No address for this channel")
    INACTIVE = "inactive", _("Customer record no longer active")
    SWITCHED_OFF = "switched_off", _("This automatic message is switched off")
    HELD_BACK = "held_back", _("Held back to measure the campaign")
    DELIVERY_FAILED = "delivery_failed", _("The mail server refused it")


class Delivery(TenantModel):
    """One decision of the send gate, sent or refused, with its reason and the consent entry
    that allowed it; the only row a backend hand-off starts from."""

    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.ForeignKey(
        "messaging.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    kind = models.CharField(max_length=40)  # "campaign", "welcome", "nps_request", ...
    klass = models.CharField(max_length=16, choices=MessageClass.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    purpose = models.CharField(max_length=16, blank=True)
    address = models.CharField(max_length=254, blank=True)
    language = models.CharField(max_length=2, default="fr")
    subject = models.CharField(max_length=300, blank=True)
    # What to hand to the backend (text, html, headers, reply_to): kept until sent, for retries.
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    consent_event = models.ForeignKey(
        "customers.ConsentEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()
    send_after = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # The same request twice (a retried task, a double click) is decided once.
    dedupe_key = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer"],
                condition=Q(campaign__isnull=False),
                name="delivery_once_per_campaign",
            ),
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="delivery_dedupe_key",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "customer", "-decided_at"], name="delivery_cust"),
            models.Index(fields=["organization", "status", "send_after"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.address} ({self.status}: {self.reason})"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Spam complaint")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")
    CLEANED_IMPORT = "cleaned_import", _("Removed when cleaning an import")


class Suppression(TenantModel):
    """An address no non-transactional message may reach again (one row per address)."""

    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    address = models.CharField(max_length=254)  # lowercased email, or E.164 phone
    reason = models.CharField(max_length=16, choices=SuppressionReason.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "channel", "address"], name="suppression_unique_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.reason})"


class Preference(TenantModel):
    """What a customer chose on the unsubscribe page instead of leaving: fewer, or a pause."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="messaging_preference"
    )
    fewer = models.BooleanField(default=False)  # at most one marketing message per window
    paused_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class PressureSettings(TenantModel):
    """One per organization: the marketing cap, its window, quiet hours and the send rate."""

    max_marketing = models.PositiveSmallIntegerField(
        _("marketing messages at most"), default=2, help_text=_("per customer, per window")
    )
    window_days = models.PositiveSmallIntegerField(_("window (days)"), default=30)
    quiet_start = models.TimeField(_("quiet hours from"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours until"), default=dt.time(8, 0))
    per_second = models.PositiveSmallIntegerField(
        _("messages per second at most"), default=20, help_text=_("what the mail server accepts")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="pressure_one_per_org"),
            models.CheckConstraint(
                condition=Q(window_days__gte=1) & Q(per_second__gte=1),
                name="pressure_positive",
            ),
        ]


class AutomaticMessage(TenantModel):
    """The owner's switch and own words for one automatic message (defaults when absent)."""

    kind = models.CharField(max_length=30)
    enabled = models.BooleanField(default=True)
    subject_fr = models.CharField(max_length=200, blank=True)
    body_fr = models.TextField(max_length=5000, blank=True)
    subject_en = models.CharField(max_length=200, blank=True)
    body_en = models.TextField(max_length=5000, blank=True)
    weeks = models.PositiveSmallIntegerField(default=8)  # "we miss you" after N weeks
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="automatic_unique_kind")
        ]


class Segment(TenantModel):
    """A saved audience: filters over tags, tier, points, last visit, postal code, consent."""

    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(TenantModel):
    """A message to a segment, in French and English; each customer gets at most one."""

    name = models.CharField(_("name"), max_length=120)
    subject_fr = models.CharField(_("subject (French)"), max_length=200, blank=True)
    body_fr = models.TextField(_("message (French)"), max_length=20000, blank=True)
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("message (English)"), max_length=20000, blank=True)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    purpose = models.CharField(max_length=16, default="news_email")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(
        max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(_("send on"), null=True, blank=True)
    holdout_percent = models.PositiveSmallIntegerField(
        _("held back to measure (%)"), default=0, help_text=_("0 to 50")
    )
    results_days = models.PositiveSmallIntegerField(_("results counted over (days)"), default=14)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_percent__lte=50), name="campaign_holdout_at_most_half"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def subject(self, language: str) -> str:
        return (self.subject_en if language == "en" and self.subject_en else "") or self.subject_fr

    def body(self, language: str) -> str:
        return (self.body_en if language == "en" and self.body_en else "") or self.body_fr

    @property
    def editable(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.pk, "name": self.name, "status": self.status}
