"""Random tokens that are stored hashed, and signed links that expire."""

from __future__ import annotations

import hashlib
import secrets

from django.core import signing


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sign(value: str, salt: str) -> str:
    return signing.TimestampSigner(salt=salt).sign(value)


def unsign(token: str, salt: str, max_age_seconds: int) -> str:
    """Raise signing.SignatureExpired or signing.BadSignature."""
    return signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age_seconds)
