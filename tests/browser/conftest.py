"""Browser journeys: a live Django server, Debian chromium driven by Playwright (sync API).

What every test gets for free:

* ``site``: the live server (pytest-django ``live_server``: transactional database, emails
  delivered for real on commit, tasks run inline) with ``settings.SITE_URL`` pointing at it, so
  links in emails open the test server.
* ``browser``: one chromium per session; ``new_context()`` opens a fresh context per visitor.
* a third-party guard on every context: any request to a host other than the live server is
  aborted and recorded; any console message "Refused to ..." (a Content-Security-Policy
  violation), uncaught page error or 5xx answer is recorded. All fail the test at teardown.
* ``axe_audit(page)``: runs axe-core (served from the live server's origin so the strict CSP
  allows it) and returns the serious/critical violations, formatted for a human.
* ``smtp_server`` (from the root conftest): a real aiosmtpd server on loopback, with
  :func:`first_link` to pull the link a person would click out of an email.
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# there unless told it is safe (it is: the loop only drives the browser, never the ORM).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from cueillette.accounts.models import Membership, Role, User
from cueillette.core.models import Organization
from cueillette.core.tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__browser_tests__/axe.min.js"
PASSWORD = "correct horse battery"  # UserFactory's password

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
]

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 900}


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make system-deps)")
    b = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield b
    b.close()


@dataclass
class Guard:
    """Records what must never happen: third-party requests, CSP violations, JS errors."""

    origin: str
    third_party: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"third-party request: {u}" for u in self.third_party]
        out += [f"CSP violation: {m}" for m in self.csp]
        out += [f"JavaScript error: {m}" for m in self.js_errors]
        out += [f"server error: {m}" for m in self.server_errors]
        return out

    def check(self) -> None:
        problems = self.problems()
        assert not problems, "\n".join(problems)


def _same_origin(url: str, origin: str) -> bool:
    if url.startswith(("data:", "blob:", "about:")):
        return True
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == origin


@dataclass
class Site:
    """The live server as the browser sees it."""

    url: str
    browser: Any
    contexts: list[Any] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)

    def __call__(self, path_or_name: str, *args: Any, **kwargs: Any) -> str:
        """``site("/app/")`` or ``site("customers:list")`` -> absolute URL."""
        if path_or_name.startswith("/"):
            path = path_or_name
        else:
            path = reverse(path_or_name, args=args or None, kwargs=kwargs or None)
        return self.url + path

    def new_context(self, *, viewport: dict[str, int] | None = None, **kw: Any) -> Any:
        """A fresh visitor (own cookies), guarded; returns the context."""
        kw.setdefault("locale", "fr-FR")
        kw.setdefault("timezone_id", "Europe/Paris")
        context = self.browser.new_context(
            viewport=viewport or DESKTOP, accept_downloads=True, **kw
        )
        context.set_default_timeout(20_000)
        context.set_default_navigation_timeout(30_000)
        guard = Guard(origin=self.url)
        axe_source = AXE_JS.read_bytes() if AXE_JS.exists() else b""

        def route(r: Any) -> None:
            url = r.request.url
            if not _same_origin(url, self.url):
                guard.third_party.append(url)
                r.abort("blockedbyclient")
                return
            if urlsplit(url).path == AXE_PATH:
                # axe-core served as if from our own origin, so 'script-src self' allows it.
                r.fulfill(status=200, content_type="application/javascript", body=axe_source)
                return
            r.continue_()

        context.route("**/*", route)

        def console(msg: Any) -> None:
            text = msg.text
            if "Refused to" in text or "Content Security Policy" in text:
                # Chromium's message is long; keep what names the violation, once per page.
                short = text.split(" Either the ")[0].split(" Note that ")[0][:200]
                entry = f"{short} (on {msg.page.url if msg.page else '?'})"
                if entry not in guard.csp:
                    guard.csp.append(entry)

        context.on("console", console)
        context.on("weberror", lambda e: guard.js_errors.append(str(e.error)))

        def response(r: Any) -> None:
            if r.status >= 500:
                guard.server_errors.append(f"{r.status} {r.request.method} {r.url}")

        context.on("response", response)
        self.contexts.append(context)
        self.guards.append(guard)
        return context

    def new_page(self, *, viewport: dict[str, int] | None = None, **kw: Any) -> Any:
        return self.new_context(viewport=viewport, **kw).new_page()


@pytest.fixture
def site(live_server: Any, transactional_db: None, browser: Any, settings: Any) -> Iterator[Site]:
    # transactional_db first: its teardown (flushing every table) then runs after this
    # fixture's, once the browser contexts are closed. The other way round, a request still
    # in flight (a wallet page's service worker) held a table while the flush ran: "database
    # table is locked", and the next test started on the unflushed rows.
    from django.core.cache import cache

    url = live_server.url.rstrip("/")
    settings.SITE_URL = url
    cache.clear()  # rate limits of earlier tests (same loopback address) do not carry over
    # Tests talk to the server as "127.0.0.1" or "localhost"; both are allowed by default.
    s = Site(url=url, browser=browser)
    yield s
    # Whatever a journey is about, it also proves that no page it opened asked another host
    # for anything, broke the CSP, threw a JavaScript error or answered 5xx.
    problems = [p for g in s.guards for p in g.problems()]
    for c in s.contexts:
        c.close()
    assert not problems, "the browser saw:\n" + "\n".join(problems)


@pytest.fixture
def page(site: Site) -> Any:
    """A desktop page in a fresh guarded context."""
    return site.new_page()


# --------------------------------------------------------------------------- people


@dataclass
class Staff:
    user: User
    org: Organization
    password: str = PASSWORD

    @property
    def email(self) -> str:
        return self.user.email


@pytest.fixture
def business(transactional_db: None) -> Organization:
    return OrganizationFactory(name="Cabinet Lumière", slug="cabinet-lumiere", language="fr")


@pytest.fixture
def make_staff(business: Organization) -> Callable[..., Staff]:
    def make(role: str = Role.OWNER, *, org: Organization | None = None, **kw: Any) -> Staff:
        org = org or business
        user = UserFactory(**kw)
        MembershipFactory(organization=org, user=user, role=role)
        return Staff(user=user, org=org)

    return make


@pytest.fixture
def boss(make_staff: Callable[..., Staff]) -> Staff:
    return make_staff(Role.OWNER, full_name="Claire Martin", email="claire@lumiere.example")


@pytest.fixture
def make_customer() -> Callable[..., Any]:
    """A customer created the way the counter would, with loyalty agreed (no email needed)."""

    def make(org: Organization, **data: Any) -> Any:
        from cueillette.core import tenancy
        from cueillette.core.audit import Actor
        from cueillette.customers.services import CustomerInput, create_customer

        values = {
            "first_name": "Inès",
            "last_name": "Moreau",
            "email": "ines.moreau@example.net",
            "phone": "+33612345678",
            "postal_code": "75011",
        }
        values.update(data)
        with tenancy.tenant_context(org):
            return create_customer(
                CustomerInput.of(values),
                actor=Actor.system("browser test"),
                consents={"loyalty": True},
            )

    return make


def login(page: Any, site: Site, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form, like a person would."""
    page.goto(site("accounts:login"))
    form = page.locator("form:has(input[type=password])").first
    form.locator("input[name=email], input[name=username]").first.fill(email)
    form.locator("input[type=password]").first.fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit]").first.click()
    assert "/accounts/login" not in page.url, f"login failed, still on {page.url}:\n" + (
        page.locator("main").inner_text()
    )


def visit(page: Any, url: str, *, status: int = 200) -> Any:
    """Open ``url`` and check the final status (after redirects)."""
    response = page.goto(url)
    assert response is not None, f"no response for {url}"
    assert response.status == status, (
        f"{url} answered {response.status} (expected {status}):\n{page.content()[:2000]}"
    )
    return response


def membership_role(user: User, org: Organization) -> str | None:
    m = Membership.objects.unscoped().filter(user=user, organization=org).first()  # tests only
    return m.role if m else None


# --------------------------------------------------------------------------- email


_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def text_body(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part in the email")


def links(msg: Message, site: Site | None = None) -> list[str]:
    body = text_body(msg)
    found = [u.rstrip(".,;") for u in _LINK.findall(body)]
    if site is not None:
        found = [u for u in found if u.startswith(site.url)]
    return found


def first_link(msg: Message, site: Site | None = None) -> str:
    """The first link of the email's text part (restricted to the live server if given)."""
    found = links(msg, site)
    assert found, "no link in the email:\n" + str(msg)
    return found[0]


def mail_to(messages: list[Message], address: str) -> list[Message]:
    return [m for m in messages if address.lower() in (m.get("X-Envelope-To") or "").lower()]


def wait_mail_to(smtp: Any, address: str, count: int = 1, timeout: float = 20.0) -> Message:
    """Wait for the ``count``-th email to ``address`` and return it."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = mail_to(smtp.messages, address)
        if len(got) >= count:
            return got[count - 1]
        time.sleep(0.05)
    raise AssertionError(
        f"expected {count} email(s) to {address}; the SMTP server received: "
        + ", ".join(f"{m.get('X-Envelope-To')}: {m.get('Subject')}" for m in smtp.messages)
    )


# --------------------------------------------------------------------------- axe-core


def axe_audit(page: Any) -> list[str]:
    """Run axe-core on the page; return the serious and critical violations, readable."""
    if not AXE_JS.exists():
        pytest.fail(
            "axe-core is missing: cd /work/main && npm install --no-audit --no-fund axe-core@4"
        )
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=origin + AXE_PATH)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                          html: n.html.slice(0, 200),
                                          summary: n.failureSummary}))
            }));
        }"""
    )
    out = []
    for v in result:
        if v["impact"] not in ("serious", "critical"):
            continue
        lines = [f"[{v['impact']}] {v['id']}: {v['help']} on {page.url}"]
        for n in v["nodes"][:5]:
            lines.append(f"    at {n['target']}: {n['html']}")
            if n["summary"]:
                lines.append("      " + n["summary"].replace("\n", "\n      "))
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
        out.append("\n".join(lines))
    return out
