"""A small fixed-window counter of failures in Django's cache (login attempts).

Only failures are counted. While a key is over its limit the caller refuses the attempt without
checking the password, so a guesser learns nothing and costs us nothing.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    # Hashed: cache keys must be short and safe, and an email should not sit in a cache in clear.
    digest = hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:32]
    return f"ratelimit:{kind}:{digest}"


def login_keys(email: str, ip: str) -> list[str]:
    return [_key("login-email", email), _key("login-ip", ip or "unknown")]


def password_reset_keys(email: str, ip: str) -> list[str]:
    return [_key("reset-email", email), _key("reset-ip", ip or "unknown")]


def retry_after(keys: list[str], limit: int | None = None) -> int:
    """Seconds until an attempt is allowed again; 0 when no key is over the limit."""
    limit = settings.LOGIN_RATE_LIMIT if limit is None else limit
    now = time.time()
    wait = 0.0
    for key in keys:
        count = cache.get(key, 0)
        if count >= limit:
            until = cache.get(f"{key}:until") or now + settings.LOGIN_RATE_WINDOW
            wait = max(wait, until - now, 1.0)
    return math.ceil(wait)


def hit(keys: list[str], window: int | None = None) -> None:
    """Count one failure on each key; the window starts at the first failure."""
    window = settings.LOGIN_RATE_WINDOW if window is None else window
    until = time.time() + window
    for key in keys:
        cache.add(f"{key}:until", until, window)
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, window)


def reset(keys: list[str]) -> None:
    cache.delete_many([*keys, *(f"{k}:until" for k in keys)])
