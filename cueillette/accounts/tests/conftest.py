from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # Login counters live in the cache, which outlives each test in the same process.
    cache.clear()
    yield
    cache.clear()


def link_in(text: str, path_fragment: str) -> str:
    """The first absolute link of ``text`` whose path contains ``path_fragment``, as a path."""
    match = re.search(r"https?://[^/\s]+(\S*" + re.escape(path_fragment) + r"\S*)", text)
    assert match, f"no link with {path_fragment!r} in:\n{text}"
    return match.group(1)
