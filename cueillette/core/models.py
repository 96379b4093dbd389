"""The organization (tenant), the audit log, API keys and idempotency records."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import AppendOnlyModel, TenantModel

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,48}[a-z0-9])$",
    _("use 3 to 50 lowercase letters, digits or hyphens, not starting or ending with a hyphen"),
)
RESERVED_SLUGS = frozenset(
    {"api", "admin", "static", "accounts", "app", "join", "portal", "www", "media", "help", "docs"}
)
TIMEZONES = sorted(zoneinfo.available_timezones())
CURRENCIES = ("EUR", "CHF", "GBP", "USD", "CAD", "XOF", "MAD")


class Language(models.TextChoices):
    FR = "fr", _("French")
    EN = "en", _("English")


class Organization(models.Model):
    """A business: the tenant every other row belongs to."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(
        _("public address"), max_length=50, unique=True, validators=[SLUG_VALIDATOR]
    )
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default="fr")
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    retention_days = models.PositiveIntegerField(
        _("retention period (days)"),
        default=3 * 365,
        help_text=_("Customers inactive for longer are anonymised, after a warning."),
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class AuditEvent(AppendOnlyModel):
    """Who did what, when: appended by services, never edited."""

    append_only = "the audit log"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "staff", "customer", "api", "system": who acted when there is no staff user.
    actor_kind = models.CharField(max_length=16, default="staff")
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]


class ApiKey(TenantModel):
    """A till's key: shown once, stored hashed, holding only the permissions chosen, revocable."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    hashed_key = models.CharField(max_length=128)
    # Sorted ``core.permissions.ApiScope`` values; every API route requires one of them.
    scopes = models.JSONField(_("permissions"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or ())


class IdempotencyRecord(TenantModel):
    """The first answer to a request with an Idempotency-Key; replayed for retries."""

    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=200, help_text="method and path")
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "key"], name="idempotency_unique_key"
            )
        ]
