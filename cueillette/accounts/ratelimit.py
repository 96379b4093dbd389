"""Who is asking (``client_ip``) and small fixed-window counters of failures in Django's cache.

Every limiter of the product (login, invitation login, password reset, the public forms) keys
on ``client_ip(request)``: behind a reverse proxy every visitor arrives from the proxy's
address, so the client's own address is read from ``X-Forwarded-For`` — but only the part
written by proxies we trust (``settings.TRUSTED_PROXIES``), read from the right, because
everything to the left of them was written by the client and can say anything.

Login failures are counted per (account, address) and per account:

* an address that fails ``LOGIN_RATE_LIMIT`` times on one account is refused for that account
  until the window ends (the guesser's own address, nobody else's);
* an account that keeps failing from many addresses is slowed down, not locked: an address that
  has already failed on it waits a delay that doubles with the account's failures before its
  next try, while an address that has not failed on it (the real person, elsewhere) is always
  heard — so no one can lock another person out.

While an attempt is refused the caller does not check the password, so a guesser learns
nothing and costs us nothing.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# --------------------------------------------------------------------------- the client's address


@functools.lru_cache(maxsize=8)
def _trusted(value: str) -> int | tuple[IPNetwork, ...]:
    """``""`` → 0 (no proxy); ``"2"`` → two proxies; ``"10.0.0.0/8, ::1"`` → those networks."""
    value = value.strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(","))


def _parse(address: str) -> str | None:
    address = address.strip().strip('"')
    if address.startswith("[") and "]" in address:  # [v6]:port
        address = address[1 : address.index("]")]
    elif address.count(":") == 1:  # v4:port
        address = address.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address of the client, as far as the configured trusted proxies vouch for it.

    ``TRUSTED_PROXIES`` is a number of proxies in front of the application (each appends the
    address it saw to ``X-Forwarded-For``) or a list of their networks. With neither, the
    header is ignored: anyone can write it.
    """
    remote = _parse(str(request.META.get("REMOTE_ADDR") or "")) or "unknown"
    trusted = _trusted(str(getattr(settings, "TRUSTED_PROXIES", "") or ""))
    if not trusted:
        return remote
    forwarded = [
        _parse(part) for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    ]
    # Read from the right: the nearest hop first. A part that is not an address ends the chain
    # (whatever lies to its left came from the client).
    chain = [remote]
    for hop in reversed(forwarded):
        if hop is None:
            break
        chain.append(hop)
    if isinstance(trusted, int):
        # The connecting address is the last proxy; each proxy vouches for the hop before it.
        return chain[min(trusted, len(chain) - 1)]
    for hop in chain:
        if hop == "unknown" or not any(ipaddress.ip_address(hop) in net for net in trusted):
            return hop
    return chain[-1]  # only trusted proxies: the farthest one is the best we know


# --------------------------------------------------------------------------- counters


def _key(kind: str, value: str) -> str:
    # Hashed: cache keys must be short and safe, and an email should not sit in a cache in clear.
    digest = hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:32]
    return f"ratelimit:{kind}:{digest}"


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


def hit(keys: list[str], window: int | None = None) -> int:
    """Count one failure on each key (the window starts at the first); the first key's count."""
    window = settings.LOGIN_RATE_WINDOW if window is None else window
    until = time.time() + window
    counts = []
    for key in keys:
        cache.add(f"{key}:until", until, window)
        cache.add(key, 0, window)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, window)
            counts.append(1)
    return counts[0] if counts else 0


def reset(keys: list[str]) -> None:
    cache.delete_many([*keys, *(f"{k}:until" for k in keys), *(f"{k}:last" for k in keys)])


# --------------------------------------------------------------------------- login


def _login_pair(email: str, ip: str) -> str:
    return _key("login-pair", f"{email.strip().lower()}|{ip or 'unknown'}")


def _login_account(email: str) -> str:
    return _key("login-account", email)


def login_wait(email: str, ip: str) -> int:
    """Seconds before this address may try this account again; 0 when it may now."""
    pair = _login_pair(email, ip)
    wait = retry_after([pair])
    if wait:
        return wait
    last = cache.get(f"{pair}:last")
    if last is None:
        return 0  # this address has not failed on this account: always heard
    failures = int(cache.get(_login_account(email), 0))
    after = int(getattr(settings, "LOGIN_SLOWDOWN_AFTER", settings.LOGIN_RATE_LIMIT))
    if failures < after:
        return 0
    delay = min(2 ** (failures - after), int(getattr(settings, "LOGIN_SLOWDOWN_MAX", 60)))
    return max(0, math.ceil(float(last) + delay - time.time()))


def login_failed(email: str, ip: str) -> None:
    pair = _login_pair(email, ip)
    hit([pair, _login_account(email)])
    cache.set(f"{pair}:last", time.time(), settings.LOGIN_RATE_WINDOW)


def login_succeeded(email: str, ip: str) -> None:
    # Only this address's counter: the account's keeps slowing down whoever else is guessing.
    reset([_login_pair(email, ip)])


def login_reset_account(email: str) -> None:
    """A new password: the account's slow-down ends (a pair's lock ends with its window)."""
    reset([_login_account(email)])
