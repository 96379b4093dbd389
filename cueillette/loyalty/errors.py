from enum import StrEnum


class Code(StrEnum):
    PROGRAM_CLOSED = "program_closed"
    NOT_A_MEMBER = "not_a_member"
    ALREADY_MEMBER = "already_member"
    CARD_CLOSED = "card_closed"
    CARD_NOT_FOUND = "card_not_found"
    UNKNOWN_CURRENCY = "unknown_currency"
    RECEIPT_CONFLICT = "receipt_conflict"
    RECEIPT_REQUIRED = "receipt_required"
    UNKNOWN_RECEIPT = "unknown_receipt"
    REFUND_CONFLICT = "refund_conflict"
    INSUFFICIENT_POINTS = "insufficient_points"
    OUT_OF_STOCK = "out_of_stock"
    REWARD_UNAVAILABLE = "reward_unavailable"
    TIER_REQUIRED = "tier_required"
    REASON_REQUIRED = "reason_required"
    NOTHING_TO_UNDO = "nothing_to_undo"
    UNDO_TOO_LATE = "undo_too_late"
    INVALID = "invalid"
