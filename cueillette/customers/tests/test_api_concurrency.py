"""Idempotency under real parallel connections (PostgreSQL: SQLite serialises writers)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client

from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import IdempotencyRecord
from cueillette.core.tests.factories import OrganizationFactory
from cueillette.customers.models import Customer

pytestmark = pytest.mark.postgres_only


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_with_one_key_apply_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    cache.clear()
    org = OrganizationFactory()
    with tenancy.tenant_context(org):
        _key, raw = create_api_key("Till", "write", actor=Actor.system("test"))
    body = json.dumps({"first_name": "Nour", "email": "nour@example.org"})
    workers = 6
    barrier = threading.Barrier(workers)
    answers: list[Any] = [None] * workers

    def post(i: int) -> None:
        try:
            barrier.wait()
            response = Client().post(
                "/api/v1/customers",
                data=body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "same-sale"},
            )
            answers[i] = (response.status_code, response.json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = {a[0] for a in answers}
    assert statuses == {201}, answers
    assert len({a[1]["id"] for a in answers}) == 1
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 1
        assert IdempotencyRecord.objects.count() == 1
