"""Words the community pages and emails show: in the reader's language, with its typography."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation

from cueillette.accounts.models import User
from cueillette.community import services, tasks
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import portal

from .staff_helpers import make_post, member

pytestmark = pytest.mark.django_db


def _render(text: str, **context: Any) -> str:
    return Template("{% load community_public %}" + text).render(Context(context))


def test_percent_follows_the_language() -> None:
    with translation.override("en"):
        assert _render("{{ v|percent }}", v=50) == "50%"
        assert _render("{{ v|percent }}", v=12.5) == "12.5%"
    with translation.override("fr"):
        assert _render("{{ v|percent }}", v=50) == "50\u202f%"
        assert _render("{{ v|percent }}", v=12.5) == "12,5\u202f%"
    assert _render("{{ v|percent }}", v=None) == "—"


def test_status_codes_read_as_words() -> None:
    with translation.override("fr"):
        assert _render("{{ s|status_label }}", s="acknowledged") == "Reconnu"
    with translation.override("en"):
        assert _render("{{ s|status_label }}", s="resolved") == "Resolved"


def test_an_erased_authors_posts_read_anonymous_in_the_readers_language(
    client: Client, org: Organization
) -> None:
    with tenancy.tenant_context(org):
        author = CustomerFactory(organization=org)
        post = make_post(author, kind="question", text="Ouvert le dimanche ?")
        portal.erase_customer(author, actor=Actor.customer(), reason="self")
    fr = client.get(f"/o/{org.slug}/community/{post.pk}/?lang=fr").content.decode()
    en = client.get(f"/o/{org.slug}/community/{post.pk}/?lang=en").content.decode()
    # "A customer" in the reader's language (issue 10): the name is gone everywhere.
    assert "Un client" in fr and "A customer" not in fr and "Anonymous" not in fr
    assert "A customer" in en


def test_the_english_digest_names_themes_in_english(
    org: Organization, owner: User, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    owner.language = "en"
    owner.save(update_fields=["language"])
    now = timezone.now()
    with tenancy.tenant_context(org):
        author = CustomerFactory(organization=org)
        post = make_post(author, text="Personne pour servir.", now=now - dt.timedelta(days=1))
        services.tag_themes(post, member(owner), ["welcome"])
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_weekly_digest.call(org.pk, now=now.isoformat()) == 1
    body = mailoutbox[0].body
    assert "Welcome (1)" in body and "Accueil (1)" not in body
    assert "(0% negative)" in body  # English percent, no space
