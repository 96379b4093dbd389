from enum import StrEnum


class Code(StrEnum):
    REQUIRED = "required"
    INVALID = "invalid"
    TOO_LONG = "too_long"
    OUT_OF_RANGE = "out_of_range"
    IN_THE_PAST = "in_the_past"
    ALREADY_STARTED = "already_started"
    SESSION_CANCELLED = "session_cancelled"
    FULL = "full"
    ALREADY_REGISTERED = "already_registered"
    TOKEN_INVALID = "token_invalid"
    TOKEN_USED = "token_used"
    TOKEN_EXPIRED = "token_expired"
    OFFER_EXPIRED = "offer_expired"
    BAD_TRANSITION = "bad_transition"
    FORBIDDEN = "forbidden"
    CUSTOMER_INACTIVE = "customer_inactive"
