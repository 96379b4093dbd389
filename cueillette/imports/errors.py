from enum import StrEnum


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    BAD_FILE = "bad_file"
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    SHORT_ROW = "short_row"
    LONG_ROW = "long_row"
    INVALID_DATE = "invalid_date"
    INVALID_AMOUNT = "invalid_amount"
    POSTAL_CODE_RESTORED = "postal_code_restored"
    PHONE_UNALLOCATED = "phone_unallocated"
    CONSENT_NOT_RECORDED = "consent_not_recorded"
    CONSENT_WITHDRAWN_WINS = "consent_withdrawn_wins"
    SUPPRESSED = "suppressed"
    IGNORED_COLUMN = "ignored_column"
    NOT_MATCHED = "not_matched"
    NAME_ONLY = "name_only"
    WRONG_STATE = "wrong_state"
    DUPLICATE_SALE = "duplicate_sale"
