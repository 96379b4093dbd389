"""Customers, the append-only consent ledger, versioned wordings and single-use tokens."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import AppendOnlyModel, TenantModel


class Purpose(models.TextChoices):
    NEWS_EMAIL = "news_email", _("News by email")
    NEWS_SMS = "news_sms", _("News by SMS")
    LOYALTY = "loyalty", _("Loyalty program")
    PROFILING = "profiling", _("Personalised offers")
    COMMUNITY = "community", _("Community notifications")
    FEEDBACK = "feedback", _("Feedback requests")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    NONE = "none", _("No message channel")


# The channel each purpose speaks through.
PURPOSE_CHANNEL: dict[str, str] = {
    Purpose.NEWS_EMAIL: Channel.EMAIL,
    Purpose.NEWS_SMS: Channel.SMS,
    Purpose.LOYALTY: Channel.NONE,
    Purpose.PROFILING: Channel.NONE,
    Purpose.COMMUNITY: Channel.EMAIL,
    Purpose.FEEDBACK: Channel.EMAIL,
}
# Purposes whose grant needs the email address confirmed first (double opt-in).
DOUBLE_OPT_IN_PURPOSES = frozenset({Purpose.NEWS_EMAIL})


class Source(models.TextChoices):
    COUNTER = "counter", _("At the counter")
    JOIN_PAGE = "join_page", _("Join page")
    PORTAL = "portal", _("Customer space")
    COMMUNITY = "community", _("Community page")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    EVENT = "event", _("Session registration")
    MERGE = "merge", _("Merge of two records")
    SYSTEM = "system", _("System")
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link")


class HeardFrom(models.TextChoices):
    UNKNOWN = "", _("Not asked")
    FRIEND = "friend", _("A friend or relative")
    WALK_BY = "walk_by", _("Walking by")
    SEARCH = "search", _("Internet search")
    SOCIAL = "social", _("Social networks")
    PRESS = "press", _("Press or flyer")
    PROFESSIONAL = "professional", _("A health or trade professional")
    OTHER = "other", _("Other")


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MERGED = "merged", _("Merged into another record")
    ERASED = "erased", _("Erased")


class Customer(TenantModel):
    """A customer of one organization. Personal fields are blanked on erasure."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("E.164"))
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    language = models.CharField(_("preferred language"), max_length=2, default="fr")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=5000)
    tags = models.JSONField(_("interests"), default=list, blank=True)
    heard_from = models.CharField(
        _("how did you hear about us"), max_length=20, choices=HeardFrom.choices, blank=True
    )
    heard_from_detail = models.CharField(_("details"), max_length=200, blank=True)

    source = models.CharField(max_length=16, choices=Source.choices, default=Source.COUNTER)
    status = models.CharField(
        max_length=8, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_records"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    retention_warned_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    # Lowercase, accent-free search keys, maintained by services (see customers.normalize).
    search_last = models.CharField(max_length=100, blank=True, editable=False)
    search_first = models.CharField(max_length=100, blank=True, editable=False)
    # Digits of the national number, for "06 12 ..." searches.
    search_phone = models.CharField(max_length=20, blank=True, editable=False)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["organization", "email"], name="customer_org_email"),
            models.Index(fields=["organization", "phone"], name="customer_org_phone"),
            models.Index(fields=["organization", "search_phone"], name="customer_org_sphone"),
            models.Index(fields=["organization", "search_last"], name="customer_org_slast"),
            models.Index(fields=["organization", "search_first"], name="customer_org_sfirst"),
        ]

    def __str__(self) -> str:
        return self.full_name or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_active(self) -> bool:
        return self.status == CustomerStatus.ACTIVE


def wording_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ConsentWording(TenantModel):
    """One version of the exact text shown for a purpose in a language. Never edited."""

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    language = models.CharField(max_length=2, default="fr")
    version = models.PositiveIntegerField()
    text = models.TextField(max_length=2000)
    text_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["purpose", "language", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "purpose", "language", "version"],
                name="wording_unique_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.language} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("a wording is never edited: create a new version")
        self.text_hash = wording_hash(self.text)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("wordings are kept forever")


class ConsentEvent(AppendOnlyModel):
    """One entry of the consent ledger: append-only, never edited or deleted."""

    append_only = "the consent ledger"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="consent_events")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    granted = models.BooleanField()
    occurred_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    wording = models.ForeignKey(ConsentWording, on_delete=models.PROTECT, related_name="+")
    wording_hash = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=16)  # staff | customer | api | system
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    # e.g. {"double_opt_in_confirmed_at": ..., "requested_at": ...}, {"merged_from_event": 12}
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "customer", "purpose", "-occurred_at", "-id"],
                name="consent_latest",
            ),
            models.Index(
                fields=["organization", "purpose", "-occurred_at"], name="consent_purpose"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {'granted' if self.granted else 'withdrawn'} @ {self.occurred_at}"


class EmailConfirmation(TenantModel):
    """A pending double opt-in: the grant is recorded only when the customer confirms (POST)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    wording = models.ForeignKey(ConsentWording, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    actor_kind = models.CharField(max_length=16)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    nonce = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    requested_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class AccessToken(TenantModel):
    """A magic link to the customer's space: stored hashed, single use, expiring."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=16, default="portal")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class CareNote(TenantModel):
    """A care note about a customer: health data (GDPR art. 9), kept apart from tags.

    Only roles with ``Perm.VIEW_CARE_NOTES`` read or add them; they never enter a segment, an
    offer, a marketing export or an API filter; the customer's own export includes them and
    erasure blanks them. Append-only: a correction is a new note naming the one it replaces.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="care_notes")
    text = models.TextField(_("care note"))
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "customer", "created_at"])]
