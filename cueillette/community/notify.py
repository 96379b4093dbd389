"""Emails of the community page (thread replies, hidden posts, appeal decisions, digest).

Every email is rendered in the recipient's language and delivered after the transaction
commits (:func:`cueillette.core.mail.send_templated`): a refused or rolled-back act sends
nothing.

* :func:`reply_posted`: a public reply reaches every active subscriber of the thread who still
  gives the "community" consent, with a link to the thread and a one-click unsubscribe link
  (``List-Unsubscribe`` + ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, RFC 8058);
* :func:`reply_posted` also carries a customer's answer in the thread (``by_customer``);
* :func:`post_hidden`: the author of a hidden post is told the reason and how to appeal;
* :func:`reply_hidden`: the same for a customer's hidden answer;
* :func:`appeal_decided`: the author is told the owner's decision;
* :func:`send_digest`: the weekly digest to the owner(s) (see ``tasks.py``).

Unsubscribe links carry a signed subscription id (no personal data); the public unsubscribe page
(one click, RFC 8058 POST too) resolves it with :func:`subscription_for_token`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.urls import NoReverseMatch, reverse

from cueillette.community.models import (
    Appeal,
    AppealDecision,
    ModerationEvent,
    Post,
    Reply,
    ThreadSubscription,
)
from cueillette.core.mail import send_templated
from cueillette.core.models import Organization
from cueillette.core.tenancy import access, current_org
from cueillette.core.tokens import sign, unsign

if TYPE_CHECKING:  # pragma: no cover
    from cueillette.accounts.models import User

UNSUBSCRIBE_SALT = "community.unsubscribe"
# Unsubscribe links keep working for years: an old email must still stop the next ones.
UNSUBSCRIBE_MAX_AGE = 5 * 365 * 24 * 3600


_muted: contextvars.ContextVar[bool] = contextvars.ContextVar("community_mail_muted", default=False)


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Send no community email inside (the demo loader writes history, not news)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def _send(template: str, to: str, context: dict[str, Any], **kwargs: Any) -> None:
    if not _muted.get():
        send_templated(template, to, context, **kwargs)


def unsubscribe_token(subscription: ThreadSubscription) -> str:
    return sign(str(subscription.pk), UNSUBSCRIBE_SALT)


def subscription_for_token(token: str) -> ThreadSubscription:
    """The subscription a link names, in the current organization (Http404 otherwise)."""
    try:
        pk = int(unsign(token, UNSUBSCRIBE_SALT, UNSUBSCRIBE_MAX_AGE))
    except (signing.BadSignature, ValueError) as exc:
        raise Http404 from exc
    return access(ThreadSubscription, pk)


# --------------------------------------------------------------------------- links


def public_url(name: str, org: Organization, lang: str = "", **kwargs: Any) -> str:
    """An absolute link to a public community page (the wall if that page does not exist).

    ``lang``: the recipient's language; when it is not the organization's, the link asks for
    it (``?lang=en``), so an English email opens English pages."""
    try:
        path = reverse(f"public:{name}", kwargs={"slug": org.slug, **kwargs})
    except NoReverseMatch:
        try:
            path = reverse("public:community", kwargs={"slug": org.slug})
        except NoReverseMatch:
            path = f"/o/{org.slug}/"
    query = f"?lang={lang}" if lang in ("fr", "en") and lang != org.language else ""
    return f"{settings.SITE_URL}{path}{query}"


def staff_url(name: str, **kwargs: Any) -> str:
    return f"{settings.SITE_URL}{reverse(f'community:{name}', kwargs=kwargs or None)}"


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail programs show an "unsubscribe" button that POSTs to ``url``."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _language(customer: Any, org: Organization) -> str:
    lang = getattr(customer, "language", "") or org.language or "fr"
    return lang if lang in ("fr", "en") else "fr"


# --------------------------------------------------------------------------- emails


def reply_posted(post: Post, reply: Reply, subscriptions: Iterable[ThreadSubscription]) -> int:
    """Email the reply to each subscription given (already filtered on consent)."""
    org = current_org()
    sent = 0
    for sub in subscriptions:
        customer = sub.customer
        if not customer.email:
            continue
        lang = _language(customer, org)
        thread = public_url("community_post", org, lang, pk=post.pk)
        unsubscribe = public_url("community_unsubscribe", org, lang, token=unsubscribe_token(sub))
        _send(
            "community/email/reply",
            customer.email,
            {
                "organization": org,
                "post": post,
                "reply": reply,
                "is_author": post.author_id == customer.pk,
                "by_customer": reply.author_role == "customer",
                "thread_url": thread,
                "unsubscribe_url": unsubscribe,
            },
            language=lang,
            # The gate adds List-Unsubscribe (one click withdraws the community consent); the
            # body's link stops this one thread only.
            kind="thread_reply",
            klass="service",
            customer=customer,
            purposes=("community",),
        )
        sent += 1
    return sent


def post_hidden(post: Post, event: ModerationEvent) -> bool:
    """Tell the author (if they left an email) why their post is hidden and how to appeal."""
    author = post.author
    if author is None or not author.email:
        return False
    org = current_org()
    thread = public_url("community_post", org, _language(author, org), pk=post.pk)
    _send(
        "community/email/hidden",
        author.email,
        {
            "organization": org,
            "post": post,
            "event": event,
            "reason": event.get_reason_display(),
            "passage": (event.data or {}).get("passage", ""),
            "thread_url": thread,
            # The thread, at its appeal form (the appeal URL itself only takes the form's POST).
            "appeal_url": f"{thread}#appeal",
        },
        language=_language(author, org),
        # The statement of reasons for a decision about the author's own post: transactional.
        kind="post_hidden",
        customer=author,
    )
    return True


def reply_hidden(post: Post, reply: Reply, event: ModerationEvent) -> bool:
    """Tell the writer of a hidden answer why, and that they may appeal from the thread."""
    author = reply.customer
    if author is None or not author.email:
        return False
    org = current_org()
    lang = _language(author, org)
    thread = public_url("community_post", org, lang, pk=post.pk)
    _send(
        "community/email/hidden",
        author.email,
        {
            "organization": org,
            "post": post,
            "reply": reply,
            "event": event,
            "reason": event.get_reason_display(),
            "passage": (event.data or {}).get("passage", ""),
            "thread_url": thread,
            "appeal_url": f"{thread}#reply-{reply.pk}",
        },
        language=lang,
    )
    return True


def appeal_decided(item: Appeal, post: Post) -> bool:
    """Tell the author the owner's decision on their appeal."""
    author = item.author or (post.author if item.hide_event.reply_id is None else None)
    if author is None or not author.email:
        return False
    org = current_org()
    _send(
        "community/email/appeal_decided",
        author.email,
        {
            "organization": org,
            "post": post,
            "appeal": item,
            "upheld": item.decision == AppealDecision.UPHELD,
            "thread_url": public_url("community_post", org, _language(author, org), pk=post.pk),
        },
        language=_language(author, org),
        kind="appeal_decided",  # the answer to the author's own appeal: transactional
        customer=author,
    )
    return True


def send_digest(org: Organization, recipients: Iterable[User], context: dict[str, Any]) -> int:
    """The weekly digest to each recipient (owners), in their own language."""
    sent = 0
    for user in recipients:
        if not user.email:
            continue
        lang = getattr(user, "language", "") or org.language or "fr"
        _send(
            "community/email/digest",
            user.email,
            {
                "organization": org,
                "inbox_url": staff_url("inbox"),
                "dashboard_url": staff_url("dashboard"),
                "settings_url": staff_url("settings"),
                **context,
            },
            language=lang if lang in ("fr", "en") else "fr",
            kind="community_digest",
            klass="staff",
        )
        sent += 1
    return sent
