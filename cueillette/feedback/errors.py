from enum import StrEnum


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    TOO_LONG = "too_long"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    ALREADY_ANSWERED = "already_answered"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    NOT_A_DETRACTOR = "not_a_detractor"
    BAD_TRANSITION = "bad_transition"
