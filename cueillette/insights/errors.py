"""Stable error codes of the insights app (``ServiceError.code``)."""

from enum import StrEnum


class Code(StrEnum):
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    REQUIRED = "required"
    DUPLICATE = "duplicate"
    NO_CONSENT = "no_feedback_consent"
    NO_EMAIL = "no_email"
    CUSTOMER_INACTIVE = "customer_inactive"
    TOKEN_INVALID = "exit_survey_token_invalid"
    TOKEN_EXPIRED = "exit_survey_token_expired"
    ALREADY_ANSWERED = "exit_survey_answered"
    RECENTLY_ASKED = "exit_survey_recently_sent"
    REASON_IN_USE = "reason_in_use"
