"""The API keeps the promises of its OpenAPI schema, error responses included.

Schemathesis generates requests for every operation from ``/api/v1/openapi.json`` (valid ones
and, for the error responses, requests with a missing or a broken key) and sends them to the
WSGI application in-process, with a real key of a business that has customers, cards and posts.
Each answer must not be a 500, must have a declared status, content type and headers, and its
body must match the schema of that status (the one error body for 4xx).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cueillette.apikeys.services import create_api_key
from cueillette.community import services as community_services
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import services as loyalty_services

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 10
ERROR_STATUSES = {"400", "401", "403", "404", "422", "429"}


@pytest.fixture
def raw_schema(db: None) -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(json.loads(response.content))


@pytest.fixture
def business(org: Organization) -> Iterator[tuple[Organization, str, dict[str, list[Any]]]]:
    """A business with rows for the generated requests to reach (not only 404s)."""
    cache.clear()
    actor = Actor.system("test")
    with tenancy.tenant_context(org):
        customers = [
            CustomerFactory(organization=org, first_name=f"Fuzz{n}", last_name="Schema")
            for n in range(3)
        ]
        card = loyalty_services.join_program(customers[0], actor=actor)
        post = community_services.create_post(
            customers[1], kind="question", text="Ouvert le dimanche ?", display_name="Fuzz"
        )
        _key, raw = create_api_key("Fuzz till", "write", actor=actor)
    ids: dict[str, list[Any]] = {
        "customer_id": [c.pk for c in customers],
        "post_id": [post.pk],
        "number": [card.number],
    }
    yield org, raw, ids
    cache.clear()


def _aim(case: Any, ids: dict[str, list[Any]]) -> None:
    """Half of the valid requests are sent to existing rows (chosen from the case itself, so
    a run is repeatable)."""
    params = case.path_parameters or {}
    digest = sum(ord(c) for c in json.dumps(params, sort_keys=True, default=str))
    if digest % 2:
        return
    for name in list(params):
        if name in ids:
            params[name] = ids[name][digest % len(ids[name])]


def test_every_operation_declares_every_error_and_the_idempotency_key(
    raw_schema: dict[str, Any],
) -> None:
    components = raw_schema["components"]
    error = components["schemas"]["ErrorOut"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "field", "message"}
    assert components["responses"]["RateLimited"]["headers"]["Retry-After"]
    operations = [
        (path, method, op)
        for path, ops in raw_schema["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "responses" in op
    ]
    assert len(operations) > 30
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert set(op["responses"]) >= ERROR_STATUSES, where
        for status in ERROR_STATUSES:
            assert op["responses"][status]["$ref"].startswith("#/components/responses/"), where
        if method in ("post", "patch"):
            assert "409" in op["responses"], where
            names = [p["name"] for p in op.get("parameters", [])]
            assert "Idempotency-Key" in names, where
        for status, response in op["responses"].items():
            if status.startswith("2"):
                assert "X-RateLimit-Remaining" in response["headers"], where


def test_the_schema_states_what_customer_creation_requires(raw_schema: dict[str, Any]) -> None:
    """`{}` is refused by the service (a first or last name is required): the schema says so."""
    import jsonschema_rs  # comes with schemathesis

    schema = raw_schema["components"]["schemas"]["CustomerCreateIn"]
    validator = jsonschema_rs.Draft202012Validator(schema)
    assert not validator.is_valid({})
    assert not validator.is_valid({"first_name": "   "})
    assert not validator.is_valid({"last_name": "Durand", "language": "de"})
    assert not validator.is_valid({"last_name": "Durand", "consents": {"spam": True}})
    assert validator.is_valid({"last_name": "Durand"})
    assert validator.is_valid({"first_name": "Léa", "email": "lea@example.net", "language": "en"})


def test_the_api_matches_its_schema_under_generated_requests(
    raw_schema: dict[str, Any], business: tuple[Organization, str, dict[str, list[Any]]]
) -> None:
    _org, raw_key, ids = business
    schema = schemathesis.openapi.from_dict(raw_schema)
    schema.app = WSGIHandler()
    started = time.monotonic()
    failures: list[str] = []
    seen: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        # Valid requests, and requests that break the schema (to meet the 422s and 400s).
        strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            headers = {"Authorization": f"Bearer {raw_key}"}
            meta = case._meta  # no public accessor in schemathesis 4
            if meta is None or meta.generation.mode == GenerationMode.POSITIVE:
                _aim(case, ids)
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen[response.status_code] += 1

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures)
    # Success and error answers were both met and checked against the schema.
    assert {200, 400, 404, 422} <= set(seen), seen
    print(f"RESULT api schema fuzz: {sum(seen.values())} requests in {elapsed:.1f} s", dict(seen))


def test_errors_of_generated_requests_without_a_valid_key_match_the_schema(
    raw_schema: dict[str, Any], business: tuple[Organization, str, dict[str, list[Any]]]
) -> None:
    """401 for every operation, with the declared body and WWW-Authenticate header."""
    schema = schemathesis.openapi.from_dict(raw_schema)
    schema.app = WSGIHandler()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=2,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers={"Authorization": "Bearer cue_nope_nope"})
            assert response.status_code == 401, (response.status_code, response.text[:300])
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
