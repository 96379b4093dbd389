"""Sessions a business offers (a free yoga class at 8 pm), the people registered, the door.

Times are stored in UTC (``starts_at``) and shown in the organization's time zone; a series
keeps its local wall-clock time (20:00 every Tuesday) and each of its sessions is created at
that local time on its own date, so a series that crosses a daylight-saving change stays at
20:00 (see :mod:`cueillette.events.rules`).

Seats: a registration holds a seat while it is CONFIRMED, OFFERED (a seat waiting for the next
person on the list to accept it) or ATTENDED; ``Session.capacity`` is never exceeded because every
change of seats happens under the session's row lock (``services._lock_session``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import TenantModel

MAX_TITLE = 120
MAX_DESCRIPTION = 4000
MAX_QUESTION = 200
MAX_ANSWER = 500
MAX_CAPACITY = 10_000
MAX_DURATION = 24 * 60


class Mode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    ONLINE = "online", _("Online")


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")


class Series(TenantModel):
    """A recurring session: every week on one weekday at one local time, for N weeks."""

    title = models.CharField(max_length=MAX_TITLE)
    local_time = models.TimeField()
    first_date = models.DateField()
    weeks = models.PositiveSmallIntegerField()
    # Dates (ISO strings) skipped in the series: a bank holiday, the teacher's holiday.
    exceptions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_date", "id"]

    def __str__(self) -> str:
        return self.title


class Session(TenantModel):
    """One session at one time, with a capacity and (optionally) a waiting list."""

    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    title = models.CharField(max_length=MAX_TITLE)
    description = models.TextField(max_length=MAX_DESCRIPTION, blank=True)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.IN_PERSON)
    location = models.CharField(max_length=300, blank=True)
    # Revealed only to registered people (their confirmation and their registration page).
    video_url = models.URLField(max_length=500, blank=True)
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=60)
    capacity = models.PositiveIntegerField()
    waitlist_enabled = models.BooleanField(default=True)
    # None: free. Otherwise paid on site; payment itself is out of scope.
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    points_for_attending = models.PositiveIntegerField(default=0)
    question = models.CharField(max_length=MAX_QUESTION, blank=True)
    feedback_enabled = models.BooleanField(default=True)
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["organization", "starts_at"], name="session_org_start")]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="session_capacity_positive"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=Decimal(0)),
                name="session_price_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def is_free(self) -> bool:
        return self.price is None

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED


class RegStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for email confirmation")
    CONFIRMED = "confirmed", _("Seat booked")
    WAITLISTED = "waitlisted", _("On the waiting list")
    OFFERED = "offered", _("Seat offered")
    ATTENDED = "attended", _("Came")
    CANCELLED = "cancelled", _("Cancelled")
    OFFER_EXPIRED = "offer_expired", _("Offer not taken in time")
    REFUSED_FULL = "refused_full", _("Full")


# A registration in these states holds one of the session's seats.
SEAT_STATUSES = (RegStatus.CONFIRMED, RegStatus.OFFERED, RegStatus.ATTENDED)
# A person can be in only one of these for a session (the duplicate rule).
ACTIVE_STATUSES = (*SEAT_STATUSES, RegStatus.WAITLISTED)


class Registration(TenantModel):
    """One person for one session. Only its status moves; the history is in the audit log."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="registrations")
    # Empty while the email is not confirmed yet (a visitor's first registration).
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="event_registrations",
    )
    name = models.CharField(max_length=200)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    language = models.CharField(max_length=8, default="fr")
    answer = models.CharField(max_length=MAX_ANSWER, blank=True)
    # Consents ticked on the public form: [{"purpose": ..., "wording": <id>}], recorded in the
    # ledger when the email is confirmed (never before).
    consents = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=RegStatus.choices)
    source = models.CharField(max_length=16, default="public")
    walk_in = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # The waiting list's order: first come (the time the person joined the list, or the time
    # they had registered when a capacity cut moved them back to the list), first offered.
    queued_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why the status last moved, as a code (worded in the reader's language by the pages).
    note = models.CharField(max_length=40, blank=True)
    confirm_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    confirm_expires_at = models.DateTimeField(null=True, blank=True)
    manage_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # The points for attending, once (one-to-one: a second check-in cannot credit again).
    points_entry = models.OneToOneField(
        "loyalty.PointsEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    feedback_sent_at = models.DateTimeField(null=True, blank=True)
    feedback_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    feedback_score = models.PositiveSmallIntegerField(null=True, blank=True)
    feedback_comment = models.TextField(max_length=2000, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Seats and the waiting list's order, counted from the index alone under the
            # session's lock (``services._tally``).
            models.Index(
                fields=["organization", "session", "status", "queued_at"],
                name="reg_session_queue",
            ),
        ]
        constraints = [
            # One active registration per person and session, on both databases.
            models.UniqueConstraint(
                fields=["session", "customer"],
                condition=Q(status__in=[s.value for s in ACTIVE_STATUSES]),
                name="reg_one_active_per_customer",
            ),
            models.CheckConstraint(
                condition=Q(feedback_score__isnull=True)
                | Q(feedback_score__gte=1, feedback_score__lte=5),
                name="reg_feedback_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.session}"

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_STATUSES
