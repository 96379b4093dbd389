from enum import StrEnum


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    TOO_LONG = "too_long"
    EMPTY_SUBJECT = "empty_subject"
    EMPTY_BODY = "empty_body"
    UNSAFE_BODY = "unsafe_body"
    REMOTE_IMAGE = "remote_image"
    EMPTY_AUDIENCE = "empty_audience"
    SCHEDULED_IN_PAST = "scheduled_in_past"
    NOT_EDITABLE = "not_editable"
    ALREADY_SENT = "already_sent"
    NO_ADDRESS = "no_address"
    TOKEN_INVALID = "token_invalid"
    BAD_SECRET = "bad_secret"
