"""Signatures of deliveries: ``Cueillette-Signature: t=<unix time>,v1=<hex>[,v1=<hex>]``.

``v1`` is HMAC-SHA256 with the endpoint's secret over ``"<t>.<body>"`` (the raw body bytes).
During a rotation's grace period a second ``v1`` is signed with the previous secret, so a
receiver that still holds the old secret keeps verifying. Receivers should refuse a ``t``
older than five minutes (replays). See docs/webhooks.md for verification code.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secrets: Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={sign(s, t, body)}" for s in secrets if s)])


def verify(
    secret: str,
    signature_header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does (our tests use it as the receiver)."""
    parts = [p.split("=", 1) for p in signature_header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    if not stamps or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign(secret, t, body)
    return any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")
