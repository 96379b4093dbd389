"""The permission sweep: every page as each kind of person, every API route with each key.

Like the tenant sweep (whose discovery and seed it reuses), routes are discovered, not listed:
``tests/permission_table.py`` says who may use each one, and a route missing there fails
``test_every_route_is_in_the_table`` with the line to add.

* **Pages**, as anonymous, the customer whose space is open, counter, manager and owner of
  organization A, with A's own ids: an allowed person is neither refused (403) nor sent to a
  sign-in page; anyone else is refused — 403 for staff, the staff sign-in page for anonymous
  and customers, the space's "ask for a link" page for a customer-space page — and the refused
  request writes nothing (no INSERT, UPDATE or DELETE but the session's).
* **API**, with a key holding only the route's permission (allowed: neither 401 nor 403), a
  key holding every other permission (403 ``forbidden`` naming the missing one, nothing
  written) and no key (401). The table's permission must be the one the route declares.

Each request runs in a savepoint that is rolled back, so an allowed POST (a purchase, a merge)
leaves the seed as it was for the next one; the seed is built once for the module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cueillette.accounts.models import Membership, Role, User
from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.permissions import ApiScope
from cueillette.core.tests.factories import MembershipFactory, UserFactory
from tests import permission_table as table
from tests.seeding import seeded_once
from tests.test_tenant_isolation import (
    Route,
    World,
    _api_schema,
    _body,
    _call,
    _shared_handler,
    build_world,
    is_api,
    staff_client,
    walk_urls,
)

ROLES = (table.ANONYMOUS, table.CUSTOMER, table.COUNTER, table.MANAGER, table.OWNER)
WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)

# Which of A's rows an id argument names, by route (the tenant sweep tries every id; here the
# right one is needed, or an allowed request would only prove a 404).
ID_MODEL_BY_PREFIX = (
    ("accounts:member_", "accounts.Membership"),
    ("accounts:invitation_", "accounts.Invitation"),
    ("customers:", "customers.Customer"),
    ("loyalty:counter_customer", "customers.Customer"),
    ("loyalty:counter_join", "customers.Customer"),
    ("loyalty:program_reward", "loyalty.Reward"),
    ("loyalty:program_tier", "loyalty.Tier"),
    ("loyalty:", "loyalty.Card"),
    ("feedback:", "feedback.Survey"),
    ("referrals:decide", "referrals.Referral"),
    ("referrals:", "customers.Customer"),
    ("apikeys:", "core.ApiKey"),
    ("messaging:segment", "messaging.Segment"),
    ("messaging:suppression", "messaging.Suppression"),
    ("messaging:", "messaging.Campaign"),
    ("community:decide_appeal", "community.Appeal"),
    ("community:hide_reply", "community.Reply"),
    ("community:", "community.Post"),
    ("public:community_", "community.Post"),
    ("events:series", "events.Series"),
    ("events:check_in", "events.Registration"),
    ("events:cancel_registration", "events.Registration"),
    ("events:", "events.Session"),
    ("public:event_", "events.Session"),
    ("insights:change", "insights.BusinessChange"),
    ("insights:link_change", "insights.BusinessChange"),
    ("insights:reason_edit", "insights.LeaveReason"),
    ("insights:customer", "customers.Customer"),
    ("imports:", "imports.Import"),
    ("webhooks:", "webhooks.Endpoint"),
)
# A second id in a route names another kind of row.
ID_MODEL_BY_KWARG = {"delivery_id": "webhooks.Delivery"}


@dataclass
class Cast:
    """Organization A's people and rows, and API keys cut to one permission or all but one."""

    w: World
    users: dict[str, User]
    customer_id: int
    key_only: dict[str, str] = field(default_factory=dict)
    key_without: dict[str, str] = field(default_factory=dict)

    def id_for(self, route_name: str) -> int:
        for prefix, label in ID_MODEL_BY_PREFIX:
            if route_name.startswith(prefix):
                return self.w.a_ids[label][0]
        raise AssertionError(f"{route_name}: say in ID_MODEL_BY_PREFIX which row its id names")


def build_cast() -> Cast:
    w = build_world()
    a = w.a
    manager = UserFactory(email="manager-a@example.org", full_name="Mathis Gérantvrai")
    MembershipFactory(organization=a, user=manager, role=Role.MANAGER)
    counter = (
        Membership.objects.unscoped()
        .select_related("user")
        .get(organization=a, role=Role.COUNTER)
        .user
    )
    users = {table.OWNER: w.owner_a, table.MANAGER: manager, table.COUNTER: counter}
    cast = Cast(w=w, users=users, customer_id=w.a_ids["customers.Customer"][0])
    everything = {s.value for s in ApiScope}
    with tenancy.tenant_context(a):
        for scope in everything:
            system = Actor.system("permission sweep")
            cast.key_only[scope] = create_api_key(f"only {scope}", [scope], actor=system)[1]
            others = sorted(everything - {scope})
            cast.key_without[scope] = create_api_key(f"not {scope}", others, actor=system)[1]
    return cast


@pytest.fixture(scope="module")
def _module_cast(django_db_setup: None, django_db_blocker: Any) -> Iterator[Cast]:
    with seeded_once(django_db_blocker, build_cast) as cast:
        yield cast


@pytest.fixture
def cast(_module_cast: Cast, db: None) -> Cast:
    from django.core.cache import cache

    cache.clear()
    return _module_cast


# --------------------------------------------------------------------------- requests


def client_as(cast: Cast, role: str) -> Client:
    if role in cast.users:
        return staff_client(cast.users[role])
    c = Client()
    c.handler = _shared_handler(c)
    if role == table.CUSTOMER:
        # The session a magic link opens (public.views.portal_open) for A's customer Inès.
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[f"portal_customer_{cast.w.a.pk}"] = {
            "customer": cast.customer_id,
            "org": cast.w.a.pk,
            "expires": time.time() + 3600,
        }
        store.create()
        c.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return c


@dataclass
class Answer:
    status: int
    location: str
    writes: list[str]
    body: dict[str, Any] = field(default_factory=dict)


def send(client: Client, method: str, url: str, **kw: Any) -> Answer:
    """One request in a savepoint rolled back afterwards, with the SQL writes it made."""
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        response = getattr(client, method)(url, **kw)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    writes = [
        q["sql"][:120]
        for q in queries.captured_queries
        if WRITE_SQL.match(q["sql"]) and "django_session" not in q["sql"]
    ]
    return Answer(response.status_code, response.get("Location", ""), writes)


def page_routes() -> list[Route]:
    return [r for r in walk_urls() if isinstance(r, Route) and not is_api(r)]


def build_url(cast: Cast, route: Route) -> str:
    values: dict[str, Any] = {}
    for name, conv in route.kwargs.items():
        if conv == "int" and name in ID_MODEL_BY_KWARG:
            values[name] = cast.w.a_ids[ID_MODEL_BY_KWARG[name]][0]
        elif conv == "int":
            values[name] = cast.id_for(route.name)
        elif name == "slug":
            values[name] = cast.w.a.slug
        else:
            values[name] = {"purpose": "loyalty", "language": "fr"}.get(name, "not-a-real-token")
    return route.build(values)


def refused(route: Route, role: str, answer: Answer, slug: str) -> bool:
    """The answer a person who may not use ``route`` gets."""
    if answer.status == 405:
        return True  # this method is nobody's
    if route.name in table.CUSTOMER_SPACE:
        return answer.status == 302 and answer.location.startswith(
            reverse("public:portal_request", kwargs={"slug": slug})
        )
    if role in (table.ANONYMOUS, table.CUSTOMER):
        return answer.status == 302 and answer.location.startswith(reverse(settings.LOGIN_URL))
    return answer.status == 403


def refused_somehow(answer: Answer, slug: str) -> bool:
    """A refusal of any kind (to tell that an allowed person was not let in)."""
    login = (reverse(settings.LOGIN_URL), reverse("public:portal_request", kwargs={"slug": slug}))
    return answer.status in (401, 403) or (
        answer.status == 302 and answer.location.startswith(login)
    )


# --------------------------------------------------------------------------- the table itself


def test_every_route_is_in_the_table() -> None:
    pages = {r.name for r in page_routes()}
    missing = sorted(pages - set(table.PAGES))
    assert not missing, (
        "pages without a line in tests/permission_table.py PAGES (who may use them?): "
        + ", ".join(f'"{name}": ...' for name in missing)
    )
    stale = sorted(set(table.PAGES) - pages)
    assert not stale, f"PAGES lists routes that no longer exist: {stale}"
    assert pages >= table.CUSTOMER_SPACE

    schema = _api_schema()
    operations = {
        f"{method.upper()} {path}": op
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }
    missing = sorted(set(operations) - set(table.API))
    assert not missing, (
        "API routes without a line in tests/permission_table.py API (which key permission?): "
        + ", ".join(f'"{op}": ApiScope.X' for op in missing)
    )
    assert not sorted(set(table.API) - set(operations)), "API lists routes that no longer exist"
    for label, op in operations.items():
        assert op["x-required-permission"] == table.API[label].value, (
            f"{label} declares {op['x-required-permission']}, the table says {table.API[label]}"
        )


# --------------------------------------------------------------------------- pages

PAGE_NAMESPACES = sorted({r.name.split(":", 1)[0] for r in page_routes()})


def check_page(cast: Cast, route: Route, rule: table.Rule) -> list[str]:
    """What is wrong with ``route`` against ``rule``, for every person, GET and POST."""
    slug = cast.w.a.slug
    url = build_url(cast, route)
    problems: list[str] = []
    for method in ("get", "post"):
        allowed = table.allowed(rule, method)
        for role in ROLES:
            answer = send(client_as(cast, role), method, url, data={})
            where = f"{method.upper()} {url} ({route.name}) as {role}"
            if route.name in table.SIGN_OUT:
                if answer.status >= 500 or (role not in allowed and answer.writes):
                    problems.append(f"{where}: {answer.status} {answer.writes}")
            elif role in allowed:
                if refused_somehow(answer, slug):
                    problems.append(f"{where}: refused ({answer.status} {answer.location})")
                elif answer.status >= 500:
                    problems.append(f"{where}: {answer.status}")
            elif not refused(route, role, answer, slug):
                problems.append(
                    f"{where}: expected a refusal, got {answer.status} {answer.location}"
                )
            elif answer.writes:
                problems.append(f"{where}: refused but wrote {answer.writes}")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("namespace", PAGE_NAMESPACES)
def test_pages_follow_the_table(cast: Cast, namespace: str) -> None:
    problems: list[str] = []
    for route in page_routes():
        if route.name.split(":", 1)[0] == namespace and route.name in table.PAGES:
            problems += check_page(cast, route, table.PAGES[route.name])
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_the_sweep_would_see_a_wrong_line(cast: Cast) -> None:
    """The checks can fail: a table too strict, or too lenient, is caught."""
    routes = {r.name: r for r in page_routes()}
    too_strict = check_page(cast, routes["customers:list"], table.MANAGERS)
    assert any("as counter: expected a refusal, got 200" in p for p in too_strict), too_strict
    too_lenient = check_page(cast, routes["customers:audit"], table.MANAGERS)
    assert any("as manager: refused (403" in p for p in too_lenient), too_lenient
    space = check_page(cast, routes["public:portal"], table.EVERYONE)
    assert any("as anonymous: refused (302" in p for p in space), space


# --------------------------------------------------------------------------- API


@pytest.mark.django_db
def test_api_follows_the_table(cast: Cast) -> None:
    schema = _api_schema()
    client = Client()
    problems: list[str] = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            label = f"{method.upper()} {path}"
            scope = table.API[label].value
            params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
            values = {name: _api_id(cast, name) for name in params}
            url = path.format(**values)
            body = _body(op, schema, cast.customer_id)

            def call(key: str) -> Answer:
                with CaptureQueriesContext(connection) as queries, transaction.atomic():
                    response = _call(client, method, url, key, body)
                    transaction.set_rollback(True)
                writes = [
                    q["sql"][:120] for q in queries.captured_queries if WRITE_SQL.match(q["sql"])
                ]
                return Answer(response.status_code, "", writes, response.json())

            mine = call(cast.key_only[scope])
            if mine.status in (401, 403) or mine.status >= 500:
                problems.append(f"{label} with only {scope}: {mine.status} {mine.body}")
            theirs = call(cast.key_without[scope])
            error = theirs.body.get("error") or {}
            names_it = error.get("code") == "forbidden" and scope in error.get("message", "")
            if theirs.status != 403 or not names_it or error.get("field") is not None:
                problems.append(f"{label} without {scope}: {theirs.status} {theirs.body}")
            elif theirs.writes:
                problems.append(f"{label} without {scope}: refused but wrote {theirs.writes}")
            anonymous = getattr(client, method)(url)
            if anonymous.status_code != 401:
                problems.append(f"{label} without a key: {anonymous.status_code}")
    assert not problems, "\n".join(problems)


def _api_id(cast: Cast, name: str) -> Any:
    label = {
        "customer_id": "customers.Customer",
        "response_id": "feedback.Survey",
        "referral_id": "referrals.Referral",
        "post_id": "community.Post",
        "reply_id": "community.Reply",
        "session_id": "events.Session",
        "registration_id": "events.Registration",
        "campaign_id": "messaging.Campaign",
    }.get(name)
    if name == "number":
        return "797979797975"  # A's card
    assert label, f"path parameter {name}: say which of A's rows it names"
    return cast.w.a_ids[label][0]
