"""The community page: customers' posts, the business's public replies, the moderation log.

There is no delete anywhere: every model here refuses ``delete()``. What can change is held in
append-only history:

* a post's text: each edit appends a :class:`PostVersion` (the earlier ones stay visible);
* moderation and staff acts: each appends a :class:`ModerationEvent` (hide, restore, appeal,
  decision, status change, acknowledgement, reply, link, tag). ``Post.hidden`` is a cache of
  what the log says (the last of hide / restore / appeal upheld), written in the same
  transaction as the event.

A post can be hidden only for a listed abuse reason (:class:`HideReason`): never for being
negative. A hidden post keeps its text in the database; an upheld appeal shows it again.
Hiding criticism (a complaint, or a negative or mixed post) also takes the exact passage that
breaks the rule, kept in the hide event's ``data``.

Customers answer in the thread too (:class:`Reply` with ``customer`` set), moderated like
posts: a hide event names the reply. The author may withdraw their post (a stub stays, the
business's replies too) and mark it resolved or open again; nobody deletes anything.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from cueillette.core.tenancy import AppendOnlyModel, TenantModel
from cueillette.customers.models import Customer

MAX_TEXT = 5000
MAX_DISPLAY_NAME = 60
MAX_THEMES = 10
MAX_THEME_LENGTH = 40
ANONYMOUS = "Anonymous"
# An appeal rejected is explained publicly, in at least this many characters.
MIN_REJECTION_NOTE = 20


class PostKind(models.TextChoices):
    REVIEW = "review", _("Review")
    QUESTION = "question", _("Question")
    SUGGESTION = "suggestion", _("Suggestion")
    COMPLAINT = "complaint", _("Complaint")


class PostStatus(models.TextChoices):
    # A context of their own: in French they agree with "message" (masculine).
    OPEN = "open", pgettext_lazy("post status", "Open")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("post status", "Acknowledged")
    RESOLVED = "resolved", pgettext_lazy("post status", "Resolved")


class HideReason(models.TextChoices):
    """The only reasons a post may be hidden. Being negative is not one of them."""

    INSULT_HARASSMENT = "insult_harassment", _("Insult or harassment")
    HATE = "hate", _("Hate")
    SPAM_ADVERTISING = "spam_advertising", _("Spam or advertising")
    PERSONAL_DATA = "personal_data", _("Someone else's personal data")
    ILLEGAL = "illegal", _("Illegal content")


# What each reason covers, shown on the confirmation before hiding and on the public stub.
HIDE_REASON_DEFINITIONS: dict[str, Any] = {
    HideReason.INSULT_HARASSMENT: _(
        "Words that attack a person (staff, customer or anyone else) rather than describe "
        "what happened: insults, threats, mockery of someone, repeated harassment."
    ),
    HideReason.HATE: _(
        "Contempt or hostility towards people for their origin, religion, sex, sexual "
        "orientation, disability or another protected ground."
    ),
    HideReason.SPAM_ADVERTISING: _(
        "A message that is not about this business: advertising for something else, links to "
        "sell or promote, the same text posted again and again, automated messages."
    ),
    HideReason.PERSONAL_DATA: _(
        "Someone else's personal details made public: a phone number, an address, an email, "
        "a full name of a private person, health or money matters."
    ),
    HideReason.ILLEGAL: _(
        "Content against the law: defamation (a false fact damaging someone), incitement to "
        "violence, counterfeit, or anything a court would order removed."
    ),
}


class Action(models.TextChoices):
    HIDE = "hide", _("Hidden")
    RESTORE = "restore", _("Shown again")
    APPEAL = "appeal", _("Appeal")
    APPEAL_UPHELD = "appeal_upheld", _("Appeal upheld")
    APPEAL_REJECTED = "appeal_rejected", _("Appeal rejected")
    STATUS_CHANGE = "status_change", _("Status changed")
    ACKNOWLEDGE = "acknowledge", _("We got this wrong")
    REPLY = "reply", _("Public reply")
    LINK_CUSTOMER = "link_customer", _("Linked to a customer record")
    TAG = "tag", _("Themes tagged")
    WITHDRAW = "withdraw", _("Withdrawn by its author")
    REDACT = "redact", _("An erased customer's name removed")


# The actions that decide whether a post is hidden: the last one of them wins.
VISIBILITY_ACTIONS = frozenset({Action.HIDE, Action.RESTORE, Action.APPEAL_UPHELD})


class AppealDecision(models.TextChoices):
    PENDING = "pending", _("Waiting for the owner")
    UPHELD = "upheld", _("Upheld")
    REJECTED = "rejected", _("Rejected")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    MIXED = "mixed", _("Mixed")


def _no_delete(what: str) -> Any:
    raise ValueError(f"{what} are never deleted")


class Post(TenantModel):
    """A customer's review, question, suggestion or complaint. ``text`` is the latest version."""

    kind = models.CharField(_("kind"), max_length=12, choices=PostKind.choices)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    author = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="community_posts",
        help_text="null once the author asked for erasure",
    )
    display_name = models.CharField(_("display name"), max_length=MAX_DISPLAY_NAME)
    text = models.TextField(_("text"))
    language = models.CharField(max_length=2, default="fr")
    status = models.CharField(
        _("status"), max_length=12, choices=PostStatus.choices, default=PostStatus.OPEN
    )
    acknowledged = models.BooleanField(_("we got this wrong"), default=False)
    created_at = models.DateTimeField(db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Set when the author withdrew it: the page shows a stub, the text stays in the history
    # the author can export; the business's replies stay.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    linked_customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_community_posts",
    )
    themes = models.JSONField(_("themes"), default=list, blank=True)
    hidden = models.BooleanField(default=False, help_text="cache of the moderation log")
    # Filled by analysis.analyse on create and edit: sorts and alerts, never hides.
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    sentiment_score = models.FloatField(default=0.0)
    needs_human_look = models.BooleanField(default=False)
    look_reasons = models.JSONField(default=list, blank=True)
    detected_themes = models.JSONField(default=list, blank=True)
    emerging_words = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="community_post_rating_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def shown_name(self) -> str:
        """The name shown with the post: an erased author's posts read "A customer" in the
        reader's language (the stored marker is the English word "Anonymous")."""
        if self.author_id is None and self.display_name == ANONYMOUS:
            return gettext("A customer")
        return self.display_name

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return _no_delete("community posts")


class PostVersion(TenantModel):
    """One version of a post's text, appended on creation and on every edit."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["post", "number"]
        constraints = [
            models.UniqueConstraint(fields=["post", "number"], name="community_version_unique"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("post versions only append")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return _no_delete("post versions")


class Reply(TenantModel):
    """A public answer in a thread, as the business or as a customer (``customer`` set,
    ``author_role`` "customer"). Immutable: a correction is another reply; ``hidden`` is the
    cache of the moderation log (updated beside its event), an erasure's redaction is logged."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_role = models.CharField(max_length=10)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="community_replies",
        help_text="the customer who answered; null for the business, or once erased",
    )
    display_name = models.CharField(max_length=MAX_DISPLAY_NAME, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField()
    hidden = models.BooleanField(default=False, help_text="cache of the moderation log")

    @property
    def by_customer(self) -> bool:
        return self.author_role == "customer"

    @property
    def shown_name(self) -> str:
        if self.display_name == ANONYMOUS and self.customer_id is None:
            return gettext("A customer")
        return self.display_name

    class Meta:
        ordering = ["created_at", "id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("replies are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return _no_delete("replies")


class MeToo(TenantModel):
    """A customer sharing the problem of a post (once per post)."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="me_toos")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "customer"], name="community_me_too_once"),
        ]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return _no_delete("me-too marks")


class ThreadSubscription(TenantModel):
    """A customer told by email of replies on a thread (consent purpose "community")."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="subscriptions")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post", "customer"], name="community_subscription_unique"
            ),
        ]

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return _no_delete("subscriptions")


class ModerationEvent(AppendOnlyModel):
    """The append-only log of every moderation and staff act on a post."""

    append_only = "the moderation log"

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="events")
    # Set when the act is on a customer's reply in the thread rather than on the post.
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.CharField(max_length=20, choices=HideReason.choices, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "owner", "manager", "counter", "customer" or "system": shown publicly, not the name.
    actor_role = models.CharField(max_length=10)
    note = models.TextField(_("public note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(action="hide") & ~Q(reason="")) | (~Q(action="hide") & Q(reason="")),
                name="community_event_reason_only_for_hide",
            ),
        ]
        indexes = [models.Index(fields=["organization", "post", "id"])]


class Appeal(TenantModel):
    """The author's one appeal against a hiding, decided by the owner."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="appeals")
    hide_event = models.OneToOneField(
        ModerationEvent, on_delete=models.PROTECT, related_name="appeal"
    )
    author = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    created_at = models.DateTimeField()
    decision = models.CharField(
        max_length=8, choices=AppealDecision.choices, default=AppealDecision.PENDING
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return _no_delete("appeals")


class CommunitySettings(TenantModel):
    """One per organization: its own theme list (name -> keywords) and the weekly digest.

    ``themes`` empty means "use analysis.DEFAULT_THEMES". Editing the list re-tags nothing by
    itself: the dashboard's "re-analyse" action does (sentiment sorts and alerts, never hides).
    """

    themes = models.JSONField(_("themes"), default=dict, blank=True)
    digest_enabled = models.BooleanField(_("weekly digest email"), default=True)
    digest_last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="community_settings_one_per_org"),
        ]


class PostDraft(TenantModel):
    """A first post by someone not yet identified, held until they confirm their email.

    The token is stored hashed; confirming (by POST) creates or finds the customer by email,
    publishes the post through ``services.create_post`` and marks the draft used. Drafts never
    confirmed are purged by the daily retention task after their expiry.
    """

    email = models.EmailField()
    display_name = models.CharField(max_length=MAX_DISPLAY_NAME)
    kind = models.CharField(max_length=12, choices=PostKind.choices)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField()
    language = models.CharField(max_length=8, default="fr")
    subscribe = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A draft of a reply in this thread (not a new post) when set.
    reply_to = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
