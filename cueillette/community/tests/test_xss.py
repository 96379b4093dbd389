"""Stored XSS, HTML and Markdown injection: customers' text is always shown as text.

Each payload is posted as a post's text and as its display name (and edited, replied to, noted
by staff); the wall, the thread, the form re-shown with an error and the feed are parsed with
``html.parser``: no script element, no ``on*`` attribute, no ``javascript:``/``data:`` link, no
tag that the page does not have with harmless content; every link made from a customer's text
carries ``rel="nofollow ugc noopener"``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.html import escape

from cueillette.accounts.models import Membership, User
from cueillette.community import services
from cueillette.community.models import MAX_DISPLAY_NAME, Post
from cueillette.community.templatetags.community_public import ugc
from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "javascript:alert(1)",
    "[click me](javascript:alert(1))",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    '" onfocus="alert(1)" autofocus="',
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    'http://example.com/"onmouseover="alert(1)',
    "www.example.com/<script>alert(1)</script>",
    '<a href="https://evil.example" onclick="alert(1)">x</a>',
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    '<a href=" jav&#x09;ascript:alert(1)">x</a>',
    "\u003cscript\u003ealert(1)\u003c/script\u003e",
    "<!--<script>alert(1)//-->",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<object data=javascript:alert(1)>",
]
assert len(PAYLOADS) >= 15

SAFE_LINK = "https://example.org/page?a=1&b=2"
REL = "nofollow ugc noopener"
URL_ATTRS = {"href", "src", "action", "formaction", "data", "xlink:href", "srcdoc"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


class Audit(HTMLParser):
    """Every tag and attribute of a page, with what would execute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.problems: list[str] = []
        self.links: list[dict[str, str | None]] = []
        self.inline_scripts = 0
        self._in_text = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.problems.append(f"script element {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRS and value is not None:
                squashed = "".join(value.split()).lower()
                if squashed.startswith(("javascript:", "data:", "vbscript:")):
                    self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "a":
            self.links.append(values)


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser


def open_space(client: Client, org: Organization, customer: Customer) -> None:
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()


def membership(user: User) -> Membership:
    return Membership.objects.unscoped().get(user=user)  # the test's own staff member


def check(html: str, baseline: set[str], where: str) -> None:
    result = audit(html)
    assert not result.problems, f"{where}: {result.problems}"
    extra = result.tags - baseline - {"a"}
    assert not extra, f"{where}: tags from user content {extra}"
    for link in result.links:
        href = link.get("href") or ""
        if "example" in href or "evil" in href:
            assert link.get("rel") == REL, f"{where}: {link}"


@pytest.fixture
def baseline(client: Client, org: Organization, owner: User) -> dict[str, set[str]]:
    """The tags the pages have with harmless content (plus a reply, a note and a history)."""
    author = CustomerFactory(organization=org)
    with tenancy.tenant_context(org):
        p = services.create_post(author, kind="review", text="Bien.", display_name="A", rating=4)
        services.edit_post(p, author, text="Très bien.", rating=5)
        services.reply(p, membership(owner), text="Merci")
        services.set_status(p, membership(owner), status="resolved", note="Fait")
    open_space(client, org, author)
    return {
        "wall": audit(client.get(f"/o/{org.slug}/community/").content.decode()).tags,
        "thread": audit(client.get(f"/o/{org.slug}/community/{p.pk}/").content.decode()).tags,
        "form": audit(
            client.post(f"/o/{org.slug}/community/new/", {"text": "x"}).content.decode()
        ).tags,
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_filter_never_outputs_markup_from_text(payload: str) -> None:
    html = str(ugc(f"{payload} {SAFE_LINK}"))
    result = audit(html)
    assert not result.problems
    assert result.tags <= {"a"}, (payload, html)
    assert any(link.get("rel") == REL for link in result.links)


def test_payloads_as_text_and_name_render_as_text(
    client: Client, org: Organization, owner: User, baseline: dict[str, set[str]]
) -> None:
    author = CustomerFactory(organization=org)
    posts: list[Post] = []
    with tenancy.tenant_context(org):
        for payload in PAYLOADS:
            name = payload[:MAX_DISPLAY_NAME]
            p = services.create_post(
                author,
                kind="review",
                text=f"{payload}\n{SAFE_LINK}",
                display_name=name,
                rating=3,
            )
            services.edit_post(p, author, text=f"{payload} (edited) {SAFE_LINK}", rating=2)
            services.reply(p, membership(owner), text=f"Réponse : {payload}")
            services.set_status(p, membership(owner), status="resolved", note=payload)
            posts.append(p)
    open_space(client, org, author)
    for page in (1, 2):
        html = client.get(f"/o/{org.slug}/community/", {"page": page}).content.decode()
        check(html, baseline["wall"], f"wall page {page}")
        assert f'rel="{REL}"' in html
    for p in posts:
        html = client.get(f"/o/{org.slug}/community/{p.pk}/").content.decode()
        check(html, baseline["thread"], f"thread {p.pk}")
        assert f'href="{SAFE_LINK.replace("&", "&amp;")}" rel="{REL}"' in html


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_redisplayed_in_the_form_stay_text(
    client: Client, org: Organization, baseline: dict[str, set[str]], payload: str
) -> None:
    # A bad rating makes the form come back with the typed text and name in it.
    response = client.post(
        f"/o/{org.slug}/community/new/",
        {
            "kind": "complaint",
            "rating": "9",
            "text": payload,
            "display_name": payload[:MAX_DISPLAY_NAME],
            "email": payload if len(payload) < 60 else "",
        },
    )
    assert response.status_code == 400
    check(response.content.decode(), baseline["form"], "form")
    assert Post.objects.unscoped().filter(text=payload).count() == 0


def test_feed_escapes_every_payload(client: Client, org: Organization) -> None:
    import xml.etree.ElementTree as ET

    author = CustomerFactory(organization=org)
    with tenancy.tenant_context(org):
        for payload in PAYLOADS:
            services.create_post(
                author, kind="question", text=payload, display_name=payload[:MAX_DISPLAY_NAME]
            )
    response = client.get(f"/o/{org.slug}/community/feed.atom")
    root = ET.fromstring(response.content)  # well-formed XML whatever the text
    ns = {"a": "http://www.w3.org/2005/Atom"}
    summaries = root.findall("a:entry/a:summary", ns)
    assert summaries and {e.get("type") for e in summaries} == {"html"}
    # A feed reader turns each summary into HTML once: the customer's text must come out as
    # text, so the only markup is ours (paragraphs and line breaks).
    texts = [e.text or "" for e in summaries]
    for payload in PAYLOADS:
        assert any(escape(payload.strip()).replace("\n", "<br>") in t for t in texts), payload
    for text in texts:
        tags = set(re.findall(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)", text))
        assert tags <= {"p", "br"}, (tags, text)
    for element in root.iter():
        assert not element.tag.endswith("script")
