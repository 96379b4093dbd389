"""Roles and what they may do. Views and API call these; the rule lives here once."""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    SERVE_CUSTOMERS = "serve_customers"  # find, create, edit customers; record consents
    EXPORT_BASE = "export_base"
    IMPORT_CUSTOMERS = "import_customers"
    MERGE_CUSTOMERS = "merge_customers"
    ERASE_CUSTOMERS = "erase_customers"  # on the customer's request (they can also do it alone)
    EDIT_WORDINGS = "edit_wordings"
    VIEW_AUDIT = "view_audit"
    MANAGE_STAFF = "manage_staff"
    MANAGE_API_KEYS = "manage_api_keys"
    MANAGE_ORGANIZATION = "manage_organization"
    MANAGE_PROGRAM = "manage_program"  # loyalty rules, rewards, tiers, look of the card
    VIEW_LOYALTY_REPORTS = "view_loyalty_reports"  # the owner's view: charts and CSV
    ADJUST_POINTS = "adjust_points"  # manual corrections with a reason


ROLE_PERMS: dict[str, frozenset[Perm]] = {
    "owner": frozenset(Perm),
    "manager": frozenset(
        {
            Perm.SERVE_CUSTOMERS,
            Perm.EXPORT_BASE,
            Perm.IMPORT_CUSTOMERS,
            Perm.MERGE_CUSTOMERS,
            Perm.ERASE_CUSTOMERS,
            Perm.EDIT_WORDINGS,
            Perm.MANAGE_API_KEYS,
            Perm.MANAGE_PROGRAM,
            Perm.VIEW_LOYALTY_REPORTS,
            Perm.ADJUST_POINTS,
        }
    ),
    "counter": frozenset({Perm.SERVE_CUSTOMERS}),
}


def role_has(role: str | None, perm: Perm) -> bool:
    return role is not None and perm in ROLE_PERMS.get(role, frozenset())
