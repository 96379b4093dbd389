from enum import StrEnum


class Code(StrEnum):
    INVALID_URL = "invalid_url"
    FORBIDDEN_TARGET = "forbidden_target"
    UNKNOWN_EVENT = "unknown_event"
    REQUIRED = "required"
    WRONG_STATE = "wrong_state"
