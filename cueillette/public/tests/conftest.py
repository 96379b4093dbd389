"""Helpers of the public pages' tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # Every request of the test client comes from 127.0.0.1: start each test with a clean slate.
    cache.clear()
    yield
    cache.clear()


def link_in(body: str, name: str) -> str:
    """The path of the first link to ``/o/<slug>/<name>/...`` in an email body."""
    match = re.search(
        re.escape(settings.SITE_URL) + r"(/o/[a-z0-9-]+/" + name + r"/[^\s\"<]+)", body
    )
    assert match, f"no {name} link in:\n{body}"
    return match.group(1)


def join_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Camille",
        "last_name": "Durand",
        "email": "camille@example.net",
        "phone": "",
        "postal_code": "69003",
        "heard_from": "",
        "website": "",
    }
    data.update(overrides)
    return data
