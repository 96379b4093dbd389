"""Follow-ups of the community page's QA report: the hidden-post email links to the thread,
a stranger on a hidden thread is offered the way back in, "check your email" after a redirect,
a hidden post's edit page, errors the edit page has no field for, the follow box's error."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from cueillette.accounts.models import Membership, User
from cueillette.community import services
from cueillette.community.models import Post, PostDraft, ThreadSubscription
from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def open_space(client: Client, org: Organization, customer: Customer) -> None:
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()


def thread_path(org: Organization, post: Post) -> str:
    return f"/o/{org.slug}/community/{post.pk}/"


@pytest.fixture
def known(org: Organization) -> Customer:
    return CustomerFactory(
        organization=org, first_name="Inès", last_name="Moreau", email="ines@example.net"
    )


@pytest.fixture
def suggestion(org: Organization, known: Customer) -> Post:
    with tenancy.tenant_context(org):
        return services.create_post(
            known, kind="suggestion", text="Des sachets en papier ?", display_name="Inès M."
        )


@pytest.fixture
def hidden(org: Organization, known: Customer, manager: User) -> Post:
    with tenancy.tenant_context(org):
        post = services.create_post(
            known, kind="complaint", text="Texte masqué", display_name="Inès M."
        )
        services.hide_post(
            post,
            Membership.objects.get(user=manager),
            reason="spam_advertising",
            passage=post.text[:12],
        )
        return post


def new_post_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "question",
        "rating": "",
        "text": "Ouvert le dimanche ?",
        "display_name": "Sam",
        "email": "Sam.Visitor@Example.NET",
        "website": "",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- hidden post


def test_hidden_email_links_to_the_thread_which_answers_get(
    client: Client,
    org: Organization,
    known: Customer,
    manager: User,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with tenancy.tenant_context(org):
        post = services.create_post(known, kind="complaint", text="Bof.", display_name="Inès")
        with django_capture_on_commit_callbacks(execute=True):
            services.hide_post(
                post,
                Membership.objects.get(user=manager),
                reason="spam_advertising",
                passage=post.text[:12],
            )
    [mail] = mailoutbox
    html = mail.alternatives[0][0]
    expected = f"{settings.SITE_URL}{thread_path(org, post)}#appeal"
    for body in (mail.body, html):
        assert expected in body
        assert "/appeal/" not in body  # the POST-only URL is never emailed
    link = re.search(re.escape(settings.SITE_URL) + r"(/o/[^\s\"<#]+)#appeal", mail.body)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200


def test_stranger_on_a_hidden_thread_is_offered_the_space_link(
    client: Client, org: Organization, hidden: Post
) -> None:
    html = client.get(thread_path(org, hidden), {"lang": "en"}).content.decode()
    assert "Is this your post? Open your customer space to read it and appeal." in html
    link = f"/o/{org.slug}/space/link/?next=%2Fo%2F{org.slug}%2Fcommunity%2F{hidden.pk}%2F"
    assert f'href="{link}"' in html
    assert "Texte masqué" not in html
    # The link's page carries the thread in its form.
    page = client.get(link).content.decode()
    assert f'name="next" value="{thread_path(org, hidden)}"' in page


def test_no_prompt_for_the_author_nor_an_open_space_nor_a_visible_post(
    client: Client, org: Organization, known: Customer, hidden: Post, suggestion: Post
) -> None:
    prompt = "data-own-prompt"
    assert prompt not in client.get(thread_path(org, suggestion)).content.decode()
    open_space(client, org, known)
    html = client.get(thread_path(org, hidden)).content.decode()
    assert prompt not in html and 'data-form="appeal"' in html
    other = Client()
    open_space(other, org, CustomerFactory(organization=org))
    assert prompt not in other.get(thread_path(org, hidden)).content.decode()


def test_edit_page_of_a_hidden_post_shows_the_thread(
    client: Client, org: Organization, known: Customer, hidden: Post
) -> None:
    open_space(client, org, known)
    response = client.get(f"{thread_path(org, hidden)}edit/", {"lang": "en"})
    assert response.status_code == 302
    assert response["Location"] == f"{thread_path(org, hidden)}#appeal"
    page = client.get(response["Location"], {"lang": "en"}).content.decode()
    assert "A hidden post cannot be edited. You can appeal instead." in page
    assert 'data-form="appeal"' in page
    with tenancy.tenant_context(org):
        assert hidden.versions.count() == 1


def test_edit_shows_an_error_about_a_field_the_page_does_not_have(
    client: Client, org: Organization, known: Customer, suggestion: Post
) -> None:
    open_space(client, org, known)
    page = client.get(f"{thread_path(org, suggestion)}edit/").content.decode()
    assert 'name="rating"' not in page  # no stars on a suggestion
    response = client.post(
        f"{thread_path(org, suggestion)}edit/?lang=en", {"text": "Autre texte", "rating": "6"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["rating"]
    html = response.content.decode()
    block = html.split("data-form-errors", 1)[1].split("</div>", 1)[0]
    assert str(errors[0]) in block
    with tenancy.tenant_context(org):
        assert suggestion.versions.count() == 1


def test_anonymous_edit_goes_to_the_space_link_and_back(
    client: Client, org: Organization, suggestion: Post
) -> None:
    response = client.get(f"{thread_path(org, suggestion)}edit/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/o/{org.slug}/space/link/?next=")


# --------------------------------------------------------------------------- follow


def test_follow_without_the_box_shows_the_error_next_to_it(
    client: Client, org: Organization, known: Customer, suggestion: Post
) -> None:
    other = CustomerFactory(organization=org)
    open_space(client, org, other)
    response = client.post(f"{thread_path(org, suggestion)}follow/?lang=en")
    assert response.status_code == 400
    html = response.content.decode()
    box = re.search(r'<input type="checkbox" name="consent" id="follow_consent"[^>]*>', html)
    assert box is not None
    assert 'aria-invalid="true"' in box.group(0)
    assert 'aria-describedby="follow_consent_error"' in box.group(0)
    error = re.search(r'<p class="field-error" id="follow_consent_error">([^<]+)</p>', html)
    assert error is not None
    assert "tick the box" in error.group(1)
    assert ThreadSubscription.objects.unscoped().count() == 0
    # A plain view of the thread has no error.
    page = client.get(thread_path(org, suggestion)).content.decode()
    assert "follow_consent_error" not in page


# --------------------------------------------------------------------------- check your email


def test_anonymous_post_redirects_to_the_check_email_page(
    client: Client,
    org: Organization,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/o/{org.slug}/community/new/?lang=en", new_post_data())
    assert response.status_code == 302
    sent = f"/o/{org.slug}/community/new/sent/"
    assert response["Location"] == sent
    assert "example" not in response["Location"].lower()  # never the address in the URL
    assert len(mailoutbox) == 1
    page = client.get(sent, {"lang": "en"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-state="draft-sent"' in html
    assert "sam.visitor@example.net" in html
    # Reloading shows the page again (without the address), and sends nothing again.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.get(sent, {"lang": "en"})
    assert again.status_code == 200
    assert 'data-state="draft-sent"' in again.content.decode()
    assert "sam.visitor@example.net" not in again.content.decode()
    assert PostDraft.objects.unscoped().count() == 1
    assert len(mailoutbox) == 1


def test_check_email_page_without_a_post_shows_no_address(
    client: Client, org: Organization
) -> None:
    response = client.get(f"/o/{org.slug}/community/new/sent/", {"lang": "en"})
    assert response.status_code == 200
    assert "data-sent-to" not in response.content.decode()
    assert client.post(f"/o/{org.slug}/community/new/sent/").status_code == 405


def test_honeypot_gets_the_same_redirect_and_nothing_is_written(
    client: Client, org: Organization, mailoutbox: list[Any]
) -> None:
    response = client.post(
        f"/o/{org.slug}/community/new/", new_post_data(website="http://spam.example")
    )
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/community/new/sent/"
    assert PostDraft.objects.unscoped().count() == 0 and mailoutbox == []


def test_kind_radios_are_marked_invalid_first(
    client: Client, org: Organization, known: Customer
) -> None:
    open_space(client, org, known)
    response = client.post(f"/o/{org.slug}/community/new/", new_post_data(kind="", text=""))
    assert response.status_code == 400
    html = response.content.decode()
    first = html.index('aria-invalid="true"')
    assert html.index('id="kind_review"') < first < html.index('name="text"')
    assert Post.objects.unscoped().count() == 0
