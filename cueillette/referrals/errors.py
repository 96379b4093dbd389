"""Stable error codes of the referral program (``ServiceError.code``)."""

from enum import StrEnum


class Code(StrEnum):
    UNKNOWN_CODE = "unknown_referral_code"
    SELF_REFERRAL = "self_referral"
    ALREADY_REFERRED = "already_referred"
    PROGRAM_CLOSED = "referral_program_closed"
    CUSTOMER_INACTIVE = "customer_inactive"
    NOT_FLAGGED = "referral_not_pending"
    ALREADY_CONFIRMED = "referral_already_confirmed"
    REASON_REQUIRED = "reason_required"
    NOTHING_TO_THANK = "thank_you_empty"
    NO_CARD = "no_open_card"
    INVALID = "invalid"
