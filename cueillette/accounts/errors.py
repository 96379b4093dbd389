"""Stable error codes of the accounts services (pages show the message, the API the code)."""

from enum import StrEnum


class Code(StrEnum):
    REQUIRED = "required"
    INVALID = "invalid"
    TOO_LONG = "too_long"
    INVALID_EMAIL = "invalid_email"
    EMAIL_TAKEN = "email_taken"
    WEAK_PASSWORD = "weak_password"
    EMAIL_UNCONFIRMED = "email_unconfirmed"
    ALREADY_MEMBER = "already_member"
    LAST_OWNER = "last_owner"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_USED = "token_used"
    TOKEN_REVOKED = "token_revoked"
    WRONG_ACCOUNT = "wrong_account"
    TOO_SHORT = "too_short"
