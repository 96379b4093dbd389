from enum import StrEnum


class Code(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    INVALID = "invalid"
    INVALID_RATING = "invalid_rating"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_STATUS = "unknown_status"
    UNKNOWN_REASON = "unknown_reason"
    FORBIDDEN = "forbidden"
    NOT_AUTHOR = "not_author"
    CUSTOMER_INACTIVE = "customer_inactive"
    NO_CONSENT = "no_consent"
    ALREADY_ME_TOO = "already_me_too"
    ALREADY_HIDDEN = "already_hidden"
    NOT_HIDDEN = "not_hidden"
    POST_HIDDEN = "post_hidden"
    ALREADY_APPEALED = "already_appealed"
    ALREADY_DECIDED = "already_decided"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"
    UNCHANGED = "unchanged"
    APPEAL_PENDING = "appeal_pending"
