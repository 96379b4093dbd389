"""Who drifts away and what it costs: model runs, per-customer scores, reasons for leaving.

* ``ModelRun``: one refresh of an organization's figures (RFM, BG/NBD, Gamma-Gamma), kept as
  history; its status says whether the figures were replaced (``ok``, ``not_enough``) or
  kept from the previous run (``failed``).
* ``CustomerScore``: the figures of one customer from the latest run that wrote scores; the
  whole set is replaced in one transaction, never half.
* ``LeaveReason`` (the organization's list, FR/EN), ``BusinessChange`` (the timeline: "free
  bus stopped"), ``ReasonAttachment`` (append-only: why a customer left, by staff, survey or
  change), ``ExitSurvey`` (one question by signed link, under the FEEDBACK consent) and
  ``ContactNote`` (append-only notes of a call or a visit).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import TenantModel
from cueillette.customers.models import ConsentEvent, Customer
from cueillette.insights.rfm import Segment


class AppendOnly(TenantModel):
    """A row that is written once and never edited or deleted."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError(f"{type(self).__name__} rows only append")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{type(self).__name__} rows only append")


class InsightsSettings(TenantModel):
    """How the organization defines a lapse and checks its model (one per organization)."""

    lapse_factor = models.DecimalField(
        _("lapsed after (times the usual gap)"),
        max_digits=4,
        decimal_places=1,
        default=Decimal("3.0"),
    )
    holdout_weeks = models.PositiveSmallIntegerField(
        _("weeks kept out of the check fit"), default=12
    )
    change_window_weeks = models.PositiveSmallIntegerField(
        _("weeks around a change to look for customers who stopped"), default=6
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="insights_settings_one_per_org"),
            models.CheckConstraint(
                condition=Q(lapse_factor__gte=1) & Q(lapse_factor__lte=20),
                name="insights_lapse_factor_range",
            ),
        ]


class RunStatus(models.TextChoices):
    OK = "ok", _("Figures refreshed")
    NOT_ENOUGH = "not_enough", _("Not enough data yet")
    FAILED = "failed", _("Refresh failed")


class ModelRun(TenantModel):
    """One refresh: what was fitted, how well, and whether it replaced the figures."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    as_of = models.DateTimeField(help_text="the instant the figures describe")
    status = models.CharField(max_length=12, choices=RunStatus.choices)
    message = models.CharField(max_length=500, blank=True)
    customers = models.PositiveIntegerField(default=0)
    repeaters = models.PositiveIntegerField(default=0)
    purchases = models.PositiveIntegerField(default=0)
    # {"params": {...}, "std_errors": {...}, "log_likelihood": ..., "n_customers": ...}
    bgnbd = models.JSONField(default=dict, blank=True)
    gammagamma = models.JSONField(default=dict, blank=True)
    # The check: a fit that ignores the last N weeks, its predictions for them and the truth.
    holdout = models.JSONField(default=dict, blank=True)
    lapse_factor = models.DecimalField(max_digits=4, decimal_places=1, default=Decimal("3.0"))
    wrote_scores = models.BooleanField(default=False)
    seconds = models.FloatField(default=0)
    triggered_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organization", "-started_at"], name="insights_run_time")]


class CustomerScore(TenantModel):
    """A customer's figures from the latest run that wrote scores. Model figures are NULL
    when the organization had too little history for a fit (never NaN)."""

    run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="scores")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    purchases = models.PositiveIntegerField()
    first_purchase_at = models.DateTimeField()
    last_purchase_at = models.DateTimeField()
    total_spend = models.DecimalField(max_digits=14, decimal_places=2)
    average_spend = models.DecimalField(max_digits=12, decimal_places=2)
    recency_score = models.PositiveSmallIntegerField()
    frequency_score = models.PositiveSmallIntegerField()
    value_score = models.PositiveSmallIntegerField()
    fm_score = models.PositiveSmallIntegerField()
    segment = models.CharField(max_length=16, choices=[(s.value, s.value) for s in Segment])
    usual_gap_days = models.FloatField()
    lapsed = models.BooleanField()
    lapsed_at = models.DateTimeField(null=True, blank=True)
    monthly_value = models.DecimalField(max_digits=12, decimal_places=2)
    p_alive = models.FloatField(null=True, blank=True)
    purchases_3m = models.FloatField(null=True, blank=True)
    purchases_6m = models.FloatField(null=True, blank=True)
    purchases_12m = models.FloatField(null=True, blank=True)
    spend_3m = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    spend_6m = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    spend_12m = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    value_at_stake = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "customer"], name="insights_score_one"),
            models.CheckConstraint(
                condition=Q(p_alive__isnull=True) | (Q(p_alive__gte=0) & Q(p_alive__lte=1)),
                name="insights_p_alive_probability",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "segment"], name="insights_score_segment"),
            models.Index(fields=["organization", "-value_at_stake"], name="insights_score_stake"),
        ]


class LeaveReason(TenantModel):
    """A reason a customer may stop coming, in the organization's own list (FR and EN)."""

    code = models.SlugField(max_length=40)
    label_fr = models.CharField(_("label in French"), max_length=120)
    label_en = models.CharField(_("label in English"), max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="leave_reason_code")
        ]

    def __str__(self) -> str:
        return self.label_fr

    def label(self, language: str | None) -> str:
        return self.label_en if (language or "fr")[:2] == "en" else self.label_fr


class BusinessChange(TenantModel):
    """Something the business changed, on its timeline ("free bus service stopped")."""

    occurred_on = models.DateField(_("date"))
    title = models.CharField(_("what changed"), max_length=160)
    description = models.TextField(_("details"), blank=True, max_length=2000)
    reason = models.ForeignKey(
        LeaveReason,
        verbose_name=_("reason it may give customers to leave"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="changes",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return self.title


class AttachmentSource(models.TextChoices):
    STAFF = "staff", _("Chosen by staff")
    SURVEY = "survey", _("Given by the customer")
    CHANGE = "change", _("Linked to a change")
    CLEARED = "cleared", _("Reason removed")


class ReasonAttachment(AppendOnly):
    """Why a customer left, as said at one moment; the latest row per customer counts."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=8, choices=AttachmentSource.choices)
    reason = models.ForeignKey(
        LeaveReason, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    change = models.ForeignKey(
        BusinessChange,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=16, default="staff")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    survey = models.ForeignKey(
        "ExitSurvey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "customer", "-created_at", "-id"], name="reason_latest"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="cleared") | Q(reason__isnull=False) | Q(change__isnull=False),
                name="reason_attachment_names_something",
            )
        ]


class ExitSurvey(TenantModel):
    """A one-question survey sent to a lapsed customer under their FEEDBACK consent."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    consent = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=2, default="fr")
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]


class ContactNote(AppendOnly):
    """A note about reaching out to a customer (a call, a word at the counter)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("note"), max_length=1000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
