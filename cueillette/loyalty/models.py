"""The loyalty program, cards, rewards and the points ledger that only appends.

Invariants held by the database itself:
* ``Card.balance`` equals the sum of the card's ``PointsEntry.points`` (services update it
  with ``F()`` in the same transaction as the entry) and can never go below zero
  (``CheckConstraint``) — two racing redemptions cannot overspend.
* A receipt id is unique per organization: a till retrying a sale cannot credit it twice.
* A card number is unique per organization; a customer has at most one open card.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import AppendOnlyModel, TenantModel
from cueillette.customers.models import Customer
from cueillette.loyalty import rules


class Program(TenantModel):
    """The organization's loyalty program: its look and its rules (one per organization)."""

    name = models.CharField(_("program name"), max_length=80, default="Carte fidélité")
    card_color = models.CharField(
        _("card colour"), max_length=7, default="#2f6b4f", help_text=_("#RRGGBB")
    )
    card_message = models.CharField(_("message on the card"), max_length=140, blank=True)
    enabled = models.BooleanField(_("program open"), default=True)

    points_per_euro = models.DecimalField(
        _("points per euro"), max_digits=8, decimal_places=3, default=Decimal(1)
    )
    rounding = models.CharField(
        _("rounding"),
        max_length=10,
        choices=[(r.value, r.value) for r in rules.Rounding],
        default=rules.Rounding.FLOOR,
    )
    points_per_visit = models.PositiveIntegerField(_("points per visit"), default=0)
    weekday_multipliers = models.JSONField(_("multipliers by weekday"), default=dict, blank=True)
    category_multipliers = models.JSONField(
        _("multipliers by product category"), default=dict, blank=True
    )
    daily_cap = models.PositiveIntegerField(_("cap per day"), null=True, blank=True)
    welcome_bonus = models.PositiveIntegerField(_("welcome bonus"), default=0)
    birthday_bonus = models.PositiveIntegerField(_("birthday bonus"), default=0)
    birthday_days_before = models.PositiveSmallIntegerField(default=7)
    birthday_days_after = models.PositiveSmallIntegerField(default=7)
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"), null=True, blank=True, default=12
    )
    expiry_warning_days = models.PositiveSmallIntegerField(
        _("warn before expiry (days)"), default=30
    )
    point_value = models.DecimalField(
        _("value of one point"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.01"),
        help_text=_("What a point costs you when redeemed; used for the liability figure."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="program_one_per_org")]

    def __str__(self) -> str:
        return self.name

    def earn_rules(self) -> rules.EarnRules:
        return rules.EarnRules(
            points_per_euro=Decimal(self.points_per_euro),
            rounding=rules.Rounding(self.rounding),
            points_per_visit=self.points_per_visit,
            weekday_multipliers={
                int(k): Decimal(str(v)) for k, v in self.weekday_multipliers.items()
            },
            category_multipliers={k: Decimal(str(v)) for k, v in self.category_multipliers.items()},
            daily_cap=self.daily_cap,
            welcome_bonus=self.welcome_bonus,
            birthday_bonus=self.birthday_bonus,
            birthday_days_before=self.birthday_days_before,
            birthday_days_after=self.birthday_days_after,
        )


class Tier(TenantModel):
    """A tier reached at ``threshold`` points earned over a rolling 12 months."""

    code = models.SlugField(max_length=30)
    name = models.CharField(_("name"), max_length=60)
    threshold = models.PositiveIntegerField(_("threshold (points over 12 months)"))
    multiplier = models.DecimalField(
        _("points multiplier"), max_digits=5, decimal_places=2, default=Decimal(1)
    )
    benefits = models.CharField(_("benefits"), max_length=300, blank=True)

    class Meta:
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="tier_unique_code"),
            models.UniqueConstraint(
                fields=["organization", "threshold"], name="tier_unique_threshold"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def as_rule(self) -> rules.Tier:
        return rules.Tier(
            code=self.code,
            threshold=self.threshold,
            multiplier=Decimal(self.multiplier),
            name=self.name,
        )


class CardStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Card(TenantModel):
    """A member's card. ``balance`` is a cache of the ledger sum, guarded by a constraint."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cards")
    number = models.CharField(max_length=12)
    status = models.CharField(max_length=6, choices=CardStatus.choices, default=CardStatus.OPEN)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    balance = models.IntegerField(default=0)
    tier_code = models.CharField(max_length=30, blank=True)
    tier_reviewed_at = models.DateTimeField(null=True, blank=True)
    last_birthday_year = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_warned_for = models.DateField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)
    # Every expiry due up to this instant is recorded: later writes only look at batches
    # expiring after it instead of replaying the whole ledger (see services._write_due_expiries).
    expiries_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="card_balance_not_negative"),
            models.UniqueConstraint(fields=["organization", "number"], name="card_unique_number"),
            models.UniqueConstraint(
                fields=["organization", "customer"],
                condition=Q(status="open"),
                name="card_one_open_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return rules.format_card_number(self.number)

    @property
    def display_number(self) -> str:
        return rules.format_card_number(self.number)

    @property
    def is_open(self) -> bool:
        return self.status == CardStatus.OPEN


class Reward(TenantModel):
    """An item of the rewards catalogue."""

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    cost = models.PositiveIntegerField(_("cost in points"))
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Leave empty for unlimited.")
    )
    valid_from = models.DateField(_("available from"), null=True, blank=True)
    valid_until = models.DateField(_("available until"), null=True, blank=True)
    min_tier = models.CharField(_("reserved to tier and above"), max_length=30, blank=True)
    active = models.BooleanField(_("offered"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cost", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gt=0), name="reward_cost_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Source(models.TextChoices):
    COUNTER = "counter", _("At the counter")
    API = "api", _("Till (API)")
    SYSTEM = "system", _("Automatic")
    PORTAL = "portal", _("Customer space")


class Purchase(TenantModel):
    """A sale that earned points. Refunds point at it; it is never edited but for the
    running totals of what was refunded (updated with F() beside each refund entry)."""

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="purchases")
    receipt_id = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    lines = models.JSONField(default=list, blank=True)
    occurred_at = models.DateTimeField()
    points = models.IntegerField(help_text="points of the purchase entry (after cap)")
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    points_taken_back = models.IntegerField(default=0)
    source = models.CharField(max_length=8, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    explanation = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "receipt_id"], name="purchase_unique_receipt"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="purchase_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")),
                name="purchase_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(points_taken_back__lte=models.F("points")),
                name="purchase_takeback_within_points",
            ),
        ]
        indexes = [models.Index(fields=["organization", "card", "-occurred_at"])]


class Refund(TenantModel):
    """A full or partial refund of a purchase."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    points = models.IntegerField()
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=Source.choices)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "refund_id"],
                condition=~Q(refund_id=""),
                name="refund_unique_id",
            )
        ]


class Redemption(TenantModel):
    """A reward taken with points."""

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=Source.choices)
    cancelled_at = models.DateTimeField(null=True, blank=True)


class EntryKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    VISIT = "visit", _("Visit")
    WELCOME = "welcome", _("Welcome bonus")
    BIRTHDAY = "birthday", _("Birthday bonus")
    REFUND = "refund", _("Refund")
    REDEMPTION = "redemption", _("Reward")
    EXPIRY = "expiry", _("Expired points")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CORRECTION = "correction", _("Correction")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event attendance")


# Kinds that credit points as an expiring batch, and those that count toward tiers.
CREDIT_KINDS = frozenset(
    {
        EntryKind.PURCHASE,
        EntryKind.VISIT,
        EntryKind.WELCOME,
        EntryKind.BIRTHDAY,
        EntryKind.REFERRAL,
        EntryKind.EVENT,
    }
)
QUALIFYING_KINDS = frozenset({EntryKind.PURCHASE, EntryKind.VISIT})


class PointsEntry(AppendOnlyModel):
    """One movement of points, linked to its cause. Append-only: never edited or deleted.

    Positive entries are batches that expire at ``expires_at``; negative entries are debits.
    A correction or an expiry points at the entry it corrects through ``corrects``.
    """

    append_only = "the points ledger"

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    points = models.IntegerField()
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    purchase = models.ForeignKey(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    redemption = models.ForeignKey(
        Redemption, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    reason = models.CharField(max_length=200, blank=True)
    birthday_year = models.PositiveSmallIntegerField(null=True, blank=True)
    actor_kind = models.CharField(max_length=16, default="staff")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Cause recorded by later capabilities (a referral, an event attendance): "app:id".
    cause = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="entry_points_not_zero"),
        ]
        indexes = [
            models.Index(fields=["organization", "card", "occurred_at"], name="entry_card_time"),
            models.Index(fields=["organization", "kind", "occurred_at"], name="entry_kind_time"),
        ]
