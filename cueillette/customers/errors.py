from enum import StrEnum


class Code(StrEnum):
    INVALID_EMAIL = "invalid_email"
    INVALID_PHONE = "invalid_phone"
    TOO_LONG = "too_long"
    REQUIRED = "required"
    INVALID = "invalid"
    UNKNOWN_PURPOSE = "unknown_purpose"
    UNKNOWN_SOURCE = "unknown_source"
    NO_EMAIL_FOR_CONSENT = "no_email_for_consent"
    NO_PHONE_FOR_CONSENT = "no_phone_for_consent"
    DOUBLE_OPT_IN_REQUIRED = "double_opt_in_required"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_USED = "token_used"
    CUSTOMER_INACTIVE = "customer_inactive"
    MERGE_SAME = "merge_same"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    # Warnings: kept, worth a second look.
    PHONE_UNALLOCATED = "phone_unallocated"
    HEALTH_LIKE_TAG = "health_like_tag"
