"""Referral program: codes, referrals (pending -> confirmed or rejected), settings, thanks.

Invariants held by the database itself:
* a customer has one referral code; the short code and the link token are unique;
* a friend has at most one *live* referral (pending or confirmed): a second referrer cannot
  claim the same friend while the first one stands;
* each reward slot of a referral (referrer, friend) holds at most one ledger entry, and an
  entry rewards at most one referral (one-to-one links): a referral is rewarded at most once.
  The grant itself is a conditional UPDATE on ``rewarded_at IS NULL`` under the referral's
  row lock (see ``rewards.grant``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import TenantModel
from cueillette.customers.models import Customer
from cueillette.loyalty.models import PointsEntry, Purchase


class ReferralCode(TenantModel):
    """A member's short code (to say aloud) and unguessable link token (to share).

    Neither carries personal data: the code is random from an unambiguous alphabet, the token
    is 192 random bits. Created lazily by ``services.code_for``.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=8)
    token = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "customer"], name="refcode_one_per"),
            models.UniqueConstraint(fields=["organization", "code"], name="refcode_unique_code"),
            models.UniqueConstraint(fields=["token"], name="refcode_unique_token"),
        ]

    def __str__(self) -> str:
        return self.code


class ReferralSource(models.TextChoices):
    LINK = "link", _("Shared link")
    CODE = "code", _("Referral code")
    COUNTER = "counter", _("At the counter")


class ReferralStatus(models.TextChoices):
    # A context of their own: in French they agree with "parrainage" (masculine).
    PENDING = "pending", pgettext_lazy("referral status", "Pending")
    CONFIRMED = "confirmed", pgettext_lazy("referral status", "Confirmed")
    REJECTED = "rejected", pgettext_lazy("referral status", "Rejected")


class Flag(models.TextChoices):
    """Doubts that send a referral to a manager's review."""

    SELF = "self", _("Looks like the same person")
    LOOP = "loop", _("Loop: the friend referred the referrer before")
    BURST = "burst", _("Many referrals in a short time")
    EXISTING = "existing", _("The friend was already a customer")
    DUPLICATE = "duplicate", _("The friend may be a duplicate of another record")


class Reason(models.TextChoices):
    """Why a referral has its status (``Referral.reason_code``)."""

    AWAITING_PURCHASE = "awaiting_purchase", _("Waiting for the friend's first purchase")
    AWAITING_REVIEW = "awaiting_review", _("Waiting for a manager's review")
    FIRST_PURCHASE = "first_purchase", _("Confirmed by the friend's first purchase")
    REVIEW_CONFIRMED = "review_confirmed", _("Accepted by a manager")
    REVIEW_REJECTED = "review_rejected", _("Rejected by a manager")
    DEADLINE_CONFIRMED = "deadline_confirmed", _("Accepted: review deadline passed")
    DEADLINE_REJECTED = "deadline_rejected", _("Rejected: review deadline passed")
    REFUNDED = "first_purchase_refunded", _("First purchase refunded")


class RewardNote:
    """Codes of ``Referral.reward_notes``: why a side of a confirmed referral got nothing.

    Stored as codes with their parameters and worded when shown, in the reader's language.
    """

    REFERRER_NO_CARD = "referrer_no_card"
    REFERRER_CAP = "referrer_cap"  # with "cap": the monthly cap reached
    FRIEND_NO_CARD = "friend_no_card"

    @staticmethod
    def render(note: Any) -> str:
        code = note.get("code", "") if isinstance(note, dict) else str(note)
        if code == RewardNote.REFERRER_NO_CARD:
            return gettext("referrer not rewarded: no open loyalty card")
        if code == RewardNote.FRIEND_NO_CARD:
            return gettext("friend not rewarded: no open loyalty card")
        if code == RewardNote.REFERRER_CAP:
            cap = int(note.get("cap", 0) or 0)
            return ngettext(
                "referrer not rewarded: monthly cap of %(cap)d rewarded referral reached",
                "referrer not rewarded: monthly cap of %(cap)d rewarded referrals reached",
                cap,
            ) % {"cap": cap}
        return code


class ReferralProgram(TenantModel):
    """The organization's referral rules (one per organization, created on first use)."""

    class Default(models.TextChoices):
        CONFIRM = "confirm", _("Accept it")
        REJECT = "reject", _("Reject it")

    enabled = models.BooleanField(_("referrals open"), default=True)
    referrer_points = models.PositiveIntegerField(_("points for the referrer"), default=100)
    friend_points = models.PositiveIntegerField(_("welcome points for the friend"), default=50)
    min_amount = models.DecimalField(
        _("qualifying first purchase (minimum amount)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal(0),
    )
    monthly_cap = models.PositiveIntegerField(
        _("rewarded referrals per referrer per month"), null=True, blank=True, default=5
    )
    burst_count = models.PositiveIntegerField(_("burst: referrals"), default=5)
    burst_hours = models.PositiveIntegerField(_("burst: within hours"), default=24)
    review_days = models.PositiveIntegerField(_("review deadline (days)"), default=7)
    default_action = models.CharField(
        _("when not reviewed in time"),
        max_length=8,
        choices=Default.choices,
        default=Default.REJECT,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="refprogram_one_per_org")
        ]


class Referral(TenantModel):
    """One referral: who sent whom, how, and what became of it."""

    referrer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referrals_made")
    friend = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referred_by")
    source = models.CharField(max_length=8, choices=ReferralSource.choices)
    status = models.CharField(
        max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    reason_code = models.CharField(max_length=32, choices=Reason.choices)
    reason_text = models.CharField(max_length=300, blank=True)
    flags = models.JSONField(default=list, blank=True)
    # True while a flagged referral waits for a manager (or for its deadline's default).
    under_review = models.BooleanField(default=False)
    review_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The friend's first qualifying purchase (set even while under review).
    confirming_purchase = models.ForeignKey(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rewarded_at = models.DateTimeField(null=True, blank=True)
    # Why a side got nothing, as codes with their parameters ([{"code": "referrer_cap",
    # "cap": 5}, ...], see RewardNote), rendered in the reader's language by reward_note_text.
    reward_notes = models.JSONField(default=list, blank=True)
    # The same, as text in the language of the time: only rows written before the codes.
    reward_note = models.CharField(max_length=300, blank=True)
    referrer_entry = models.OneToOneField(
        PointsEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    friend_entry = models.OneToOneField(
        PointsEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    referrer_reversal = models.OneToOneField(
        PointsEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    friend_reversal = models.OneToOneField(
        PointsEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    # Points that could not be taken back because they were already spent.
    reversal_shortfall = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "friend"],
                condition=Q(status__in=["pending", "confirmed"]),
                name="referral_one_live_per_friend",
            ),
            models.CheckConstraint(
                condition=~Q(referrer=models.F("friend")), name="referral_not_self"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "referrer", "created_at"], name="referral_referrer"
            ),
            models.Index(fields=["organization", "status", "created_at"], name="referral_status"),
            models.Index(
                fields=["organization", "under_review", "review_deadline"], name="referral_review"
            ),
        ]

    def __str__(self) -> str:
        return f"referral #{self.pk}"

    def reward_note_text(self) -> str:
        """Why a side got nothing, in the current language (old rows: the text they stored)."""
        if self.reward_notes:
            separator = pgettext("separator between clauses", "; ")
            return separator.join(RewardNote.render(note) for note in self.reward_notes)
        return self.reward_note

    def reason_line(self) -> str:
        """The reason's label and the manager's words ("Rejected by a manager — wrong Alice")."""
        label = str(Reason(self.reason_code).label) if self.reason_code in Reason.values else ""
        # A refund's reason says everything; older rows also stored it as text (translated).
        text = "" if self.reason_code == Reason.REFUNDED else self.reason_text
        return f"{label} — {text}" if label and text else label or text


class ThankYou(TenantModel):
    """A recorded thank-you to an advocate: a message (emailed when allowed) or a gift."""

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        GIFT = "gift", _("Gift of points")

    advocate = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    message = models.TextField(max_length=2000, blank=True)
    points = models.PositiveIntegerField(null=True, blank=True)
    entry = models.OneToOneField(
        PointsEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    emailed = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
