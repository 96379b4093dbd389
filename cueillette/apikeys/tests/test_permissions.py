"""API key permissions: each route needs one, a key holds only those chosen, the services
check them too, the schema states them, and old keys kept what they could do."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router

from cueillette.api import api, requires, scope_marker
from cueillette.apikeys.services import create_api_key
from cueillette.community import services as community
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.errors import Forbidden
from cueillette.core.models import Organization
from cueillette.core.permissions import SCOPE_PRESETS, ApiScope, Perm, scopes_perms
from cueillette.feedback import services as feedback
from cueillette.feedback.models import FollowUp, Survey
from cueillette.feedback.tests.conftest import make_member, make_survey

TILL = sorted(s.value for s in SCOPE_PRESETS["till"])


def key(org: Organization, scopes: Any) -> str:
    cache.clear()
    with tenancy.tenant_context(org):
        return create_api_key("Caisse 1", scopes, actor=Actor.system("test"))[1]


def detractor(org: Organization) -> Survey:
    with tenancy.tenant_context(org):
        customer, _card = make_member(org)
        survey, _t = make_survey(customer)
        Survey.objects.filter(pk=survey.pk).update(
            answered_at=timezone.now(), score=2, follow_up=FollowUp.TO_CONTACT
        )
        survey.refresh_from_db()
    return survey


def patch(raw: str, path: str, body: Any) -> Any:
    return Client().patch(
        path,
        json.dumps(body),
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {raw}",
            "Idempotency-Key": "p1",
            "Accept-Language": "en",
        },
    )


@pytest.mark.django_db
def test_a_till_key_cannot_follow_up_feedback(org: Organization) -> None:
    survey = detractor(org)
    url = f"/api/v1/feedback/responses/{survey.pk}/follow-up"
    response = patch(key(org, "till"), url, {"status": "contacted", "note": "called"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden" and error["field"] is None
    # Worded in the business's language (the API speaks it), naming the permission.
    with translation.override(org.language):
        expected = _("this key lacks the permission %(scope)s") % {"scope": "feedback:manage"}
    assert error["message"] == expected
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.TO_CONTACT
    # Checked before the body is read: even an invalid body gets the 403, not a 422.
    assert patch(key(org, "till"), url, {"status": 12}).status_code == 403
    manager_key = key(org, ["feedback:manage"])
    assert patch(manager_key, url, {"status": "contacted"}).status_code == 200


@pytest.mark.django_db
def test_the_service_refuses_an_api_actor_without_the_permission(org: Organization) -> None:
    survey = detractor(org)
    with tenancy.tenant_context(org), pytest.raises(Forbidden) as caught:
        feedback.update_follow_up(
            survey, status="contacted", actor=Actor.api("Caisse", ["feedback:read"])
        )
    assert "feedback:manage" in caught.value.message
    with tenancy.tenant_context(org):
        done = feedback.update_follow_up(
            survey, status="contacted", actor=Actor.api("Caisse", ["feedback:manage"])
        )
    assert done.follow_up == FollowUp.CONTACTED


def test_community_staff_of_a_key_has_only_its_permissions() -> None:
    reply_only = community.Staff.api("Caisse", ["community:reply", "feedback:manage"])
    assert reply_only.perms == {Perm.REPLY_COMMUNITY}
    both = community.Staff.api("Caisse", ["community:reply", "community:moderate"])
    assert both.perms == {Perm.REPLY_COMMUNITY, Perm.MODERATE_COMMUNITY}
    # Appeals are decided by the owner on the pages, whatever a key holds.
    assert Perm.DECIDE_APPEALS not in community.Staff.api("k", [s.value for s in ApiScope]).perms


def test_scopes_grant_the_matching_staff_permissions() -> None:
    assert scopes_perms(["feedback:manage", "unknown:thing"]) == {Perm.MANAGE_FEEDBACK}
    assert scopes_perms([]) == frozenset()


def _schema() -> dict[str, Any]:
    from django.urls import get_resolver

    get_resolver().url_patterns  # mounts the routers
    return api.get_openapi_schema(path_params={})


def test_the_schema_states_each_operations_permission() -> None:
    schema = _schema()
    seen: set[str] = set()
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            scope = op.get("x-required-permission")
            assert scope in {s.value for s in ApiScope}, f"{method} {path}"
            assert f"`{scope}`" in op["description"], f"{method} {path}"
            seen.add(scope)
    assert seen == {s.value for s in ApiScope}, "a permission no route needs"
    follow = schema["paths"]["/api/v1/feedback/responses/{response_id}/follow-up"]["patch"]
    assert follow["x-required-permission"] == "feedback:manage"


@pytest.mark.django_db
def test_a_route_without_a_permission_is_refused_to_every_key(org: Organization) -> None:
    from django.test import override_settings
    from django.urls import path

    from cueillette.api import ApiKeyAuth, _service_error
    from cueillette.core.errors import ServiceError

    loose = NinjaAPI(urls_namespace="loose-test", auth=ApiKeyAuth())
    loose.exception_handler(ServiceError)(_service_error)
    loose.add_decorator(scope_marker, mode="view")
    router = Router()

    @router.get("/fine")
    @requires(ApiScope.LOYALTY_READ)
    def fine(request: Any) -> dict[str, str]:
        return {}

    @router.get("/forgotten")
    def forgotten(request: Any) -> dict[str, str]:
        return {}

    loose.add_router("", router)
    urls = type("Urls", (), {"urlpatterns": [path("loose/", loose.urls)]})
    raw = key(org, "write")
    with override_settings(ROOT_URLCONF=urls):
        schema = loose.get_openapi_schema(path_params={})["paths"]
        assert schema["/loose/forgotten"]["get"]["x-required-permission"] is None
        headers = {"Authorization": f"Bearer {raw}"}
        assert Client().get("/loose/fine", headers=headers).status_code == 200
        refused = Client().get("/loose/forgotten", headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db(transaction=True)
def test_existing_keys_keep_what_they_could_do() -> None:
    """Data migration core 0003: read keys get every read permission, write keys all."""
    executor = MigrationExecutor(connection)
    executor.migrate([("core", "0002_apikey_scopes")])
    old = executor.loader.project_state([("core", "0002_apikey_scopes")]).apps
    org = old.get_model("core", "Organization").objects.create(name="Old", slug="old-keys")
    keys = old.get_model("core", "ApiKey").objects
    reader = keys.create(organization=org, name="r", prefix="r0", hashed_key="x", scope="read")
    writer = keys.create(organization=org, name="w", prefix="w0", hashed_key="y", scope="write")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from cueillette.core.models import ApiKey

    # Exactly the permissions that existed then: later ones (sessions, insights, messages) are
    # never granted to old keys silently.
    then = importlib.import_module("cueillette.core.migrations.0003_apikey_scopes_from_scope")
    assert ApiKey.objects.unscoped().get(pk=reader.pk).scopes == sorted(then.READ)
    assert ApiKey.objects.unscoped().get(pk=writer.pk).scopes == sorted(then.WRITE)
    # And back: a key with any write permission is a write key again.
    executor = MigrationExecutor(connection)
    executor.migrate([("core", "0002_apikey_scopes")])
    old = executor.loader.project_state([("core", "0002_apikey_scopes")]).apps
    rows = old.get_model("core", "ApiKey").objects
    assert rows.get(pk=reader.pk).scope == "read" and rows.get(pk=writer.pk).scope == "write"
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_till_preset_is_what_a_till_does() -> None:
    assert TILL == [
        "consents:write", "customers:read", "customers:write",
        "loyalty:read", "loyalty:write", "referrals:write",
    ]  # fmt: skip
