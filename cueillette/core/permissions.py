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
    VIEW_FEEDBACK = "view_feedback"  # NPS figures, comments, detractor follow-up
    MANAGE_FEEDBACK = "manage_feedback"  # NPS survey settings, follow-up status changes
    REPLY_COMMUNITY = "reply_community"  # community inbox: public replies, link, themes
    MODERATE_COMMUNITY = "moderate_community"  # hide / show again, status, "we got this wrong"
    DECIDE_APPEALS = "decide_appeals"  # the owner decides an author's appeal
    VIEW_COMMUNITY_DASHBOARD = "view_community_dashboard"  # listening figures, theme list
    MANAGE_REFERRALS = "manage_referrals"  # referral rules, review flagged referrals, thanks
    VIEW_ADVOCATES = "view_advocates"  # advocates leaderboard, referral trees and figures
    MANAGE_WEBHOOKS = "manage_webhooks"  # owner only: endpoints, secrets, delivery log, replay


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
            Perm.VIEW_FEEDBACK,
            Perm.MANAGE_FEEDBACK,
            Perm.REPLY_COMMUNITY,
            Perm.MODERATE_COMMUNITY,
            Perm.VIEW_COMMUNITY_DASHBOARD,
            Perm.MANAGE_REFERRALS,
            Perm.VIEW_ADVOCATES,
        }
    ),
    "counter": frozenset({Perm.SERVE_CUSTOMERS, Perm.REPLY_COMMUNITY}),
}


def role_has(role: str | None, perm: Perm) -> bool:
    return role is not None and perm in ROLE_PERMS.get(role, frozenset())
