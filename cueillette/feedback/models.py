"""NPS surveys: the organization's settings and one row per survey sent.

A survey stores only what the question needs: who was asked, about which purchase or visit,
under which consent (the customer's FEEDBACK grant in the consent ledger), when, the answer,
the segment it counts in (tier and how the customer came, as they were when it was sent) and,
for detractors, the follow-up. The link's token is stored hashed and works once.

A detractor's follow-up keeps every note in :class:`FollowUpNote` (appended, never edited);
``Survey.follow_up_note`` is a copy of the latest one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import AppendOnlyModel, TenantModel
from cueillette.customers.models import ConsentEvent, Customer

DEFAULT_QUESTION = {
    "fr": "Recommanderiez-vous {org} à un proche ?",
    "en": "How likely are you to recommend {org} to a friend or relative?",
}


class SurveySettings(TenantModel):
    """How the organization asks (one row per organization, created on first use)."""

    enabled = models.BooleanField(_("send surveys"), default=True)
    delay_hours = models.PositiveIntegerField(
        _("delay after a purchase or visit (hours)"), default=24
    )
    sampling_rate = models.PositiveSmallIntegerField(
        _("share of purchases and visits followed by a survey (%)"), default=100
    )
    min_days_between = models.PositiveSmallIntegerField(
        _("at least this many days between two surveys to the same customer"), default=90
    )
    link_validity_days = models.PositiveSmallIntegerField(
        _("the survey link works for (days)"), default=14
    )
    question_fr = models.CharField(_("question in French"), max_length=300, blank=True)
    question_en = models.CharField(_("question in English"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="feedback_settings_one_per_org"),
            models.CheckConstraint(
                condition=Q(sampling_rate__lte=100), name="feedback_sampling_rate_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"survey settings #{self.pk}"

    def question(self, language: str, org_name: str) -> str:
        custom = self.question_en if language == "en" else self.question_fr
        text = custom or DEFAULT_QUESTION["en" if language == "en" else "fr"]
        return text.replace("{org}", org_name)


class Category(models.TextChoices):
    PROMOTER = "promoter", _("Promoters (9 to 10)")
    PASSIVE = "passive", _("Passives (7 to 8)")
    DETRACTOR = "detractor", _("Detractors (0 to 6)")


def category_of(score: int | None) -> str | None:
    if score is None:
        return None
    if score >= 9:
        return Category.PROMOTER
    if score >= 7:
        return Category.PASSIVE
    return Category.DETRACTOR


class FollowUp(models.TextChoices):
    NONE = "none", _("No follow-up")
    TO_CONTACT = "to_contact", _("To contact")
    CONTACTED = "contacted", _("Contacted")
    RESOLVED = "resolved", _("Resolved")


class CameFrom(models.TextChoices):
    """How the customer came: the customer's answer, or a referral recorded for them."""

    UNKNOWN = "", _("Not asked")
    REFERRAL = "referral", _("Referred by a customer")
    FRIEND = "friend", _("A friend or relative")
    WALK_BY = "walk_by", _("Walking by")
    SEARCH = "search", _("Internet search")
    SOCIAL = "social", _("Social networks")
    PRESS = "press", _("Press or flyer")
    PROFESSIONAL = "professional", _("A health or trade professional")
    OTHER = "other", _("Other")


class Survey(TenantModel):
    """One survey sent to one customer after one purchase or visit."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    # The purchase or visit (a purchase of 0) that prompted it: one survey at most per purchase.
    purchase = models.ForeignKey(
        "loyalty.Purchase", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The customer's FEEDBACK grant in the ledger under which the question was asked.
    consent = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, max_length=2000)
    language = models.CharField(max_length=2, default="fr")
    # Segment snapshot, as the customer was when the survey was sent.
    tier_code = models.CharField(max_length=30, blank=True)
    came_from = models.CharField(max_length=20, choices=CameFrom.choices, blank=True)
    # Detractors' follow-up.
    follow_up = models.CharField(max_length=12, choices=FollowUp.choices, default=FollowUp.NONE)
    follow_up_note = models.TextField(blank=True, max_length=2000)
    follow_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follow_up_at = models.DateTimeField(null=True, blank=True)
    # Promoters are invited once per customer ever: the survey where it happened.
    promoter_invited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "purchase"], name="feedback_one_survey_per_purchase"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=10),
                name="feedback_score_0_10",
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | Q(score__isnull=False),
                name="feedback_answer_has_score",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "customer", "-sent_at"], name="survey_customer"),
            models.Index(fields=["organization", "answered_at"], name="survey_answered"),
            models.Index(fields=["organization", "follow_up"], name="survey_follow_up"),
        ]

    def __str__(self) -> str:
        return f"survey #{self.pk}"

    @property
    def category(self) -> str | None:
        return category_of(self.score)

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class FollowUpNote(AppendOnlyModel):
    """One note written during a detractor's follow-up: who, when, the status it was written
    with. Notes are only appended; erasing the customer blanks their text (a queryset update,
    the only change ever made to a note)."""

    append_only = "the follow-up notes"

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="notes")
    text = models.TextField(max_length=2000)
    status = models.CharField(max_length=12, choices=FollowUp.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who wrote it as shown at the time (a staff name, "API: <key>"): kept if the user goes.
    author_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "survey", "-created_at"], name="feedback_note_survey"
            )
        ]

    def __str__(self) -> str:
        return f"follow-up note #{self.pk}"
