"""Emails of the community page (thread replies, hidden posts, appeal decisions, digest).

Unsubscribe links carry a signed subscription id (no personal data); the public unsubscribe page
(one click, RFC 8058 POST too) resolves it with :func:`subscription_for_token`.
"""

from __future__ import annotations

from django.core import signing
from django.http import Http404

from cueillette.community.models import ThreadSubscription
from cueillette.core.tenancy import access
from cueillette.core.tokens import sign, unsign

UNSUBSCRIBE_SALT = "community.unsubscribe"
# Unsubscribe links keep working for years: an old email must still stop the next ones.
UNSUBSCRIBE_MAX_AGE = 5 * 365 * 24 * 3600


def unsubscribe_token(subscription: ThreadSubscription) -> str:
    return sign(str(subscription.pk), UNSUBSCRIBE_SALT)


def subscription_for_token(token: str) -> ThreadSubscription:
    """The subscription a link names, in the current organization (Http404 otherwise)."""
    try:
        pk = int(unsign(token, UNSUBSCRIBE_SALT, UNSUBSCRIBE_MAX_AGE))
    except (signing.BadSignature, ValueError) as exc:
        raise Http404 from exc
    return access(ThreadSubscription, pk)
