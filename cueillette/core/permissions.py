"""Roles and what they may do. Views and API call these; the rule lives here once."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _


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
    # Care notes (health data, GDPR art. 9): read and add. Owner and manager — the people who
    # give the care in a practice —, not counter staff, who serve and sell.
    VIEW_CARE_NOTES = "view_care_notes"
    VIEW_INSIGHTS = "view_insights"  # segments, churn risk, customer value, lost revenue, cohorts
    MANAGE_INSIGHTS = "manage_insights"  # reasons, changes, notes, exit surveys, refresh
    VIEW_EVENTS = "view_events"  # the sessions and their registrants
    RUN_EVENTS = "run_events"  # at the door: check in, walk-ins, register a customer
    MANAGE_EVENTS = "manage_events"  # offer, edit and cancel sessions and series; figures
    MANAGE_WEBHOOKS = "manage_webhooks"  # owner only: endpoints, secrets, delivery log, replay
    SEND_CAMPAIGNS = "send_campaigns"  # segments, campaigns, test sends, results
    MANAGE_MESSAGES = "manage_messages"  # automatic messages, pressure cap, suppressions


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
            Perm.VIEW_CARE_NOTES,
            Perm.VIEW_INSIGHTS,
            Perm.MANAGE_INSIGHTS,
            Perm.VIEW_EVENTS,
            Perm.RUN_EVENTS,
            Perm.MANAGE_EVENTS,
            Perm.SEND_CAMPAIGNS,
            Perm.MANAGE_MESSAGES,
        }
    ),
    "counter": frozenset(
        {Perm.SERVE_CUSTOMERS, Perm.REPLY_COMMUNITY, Perm.VIEW_EVENTS, Perm.RUN_EVENTS}
    ),
}


def role_has(role: str | None, perm: Perm) -> bool:
    return role is not None and perm in ROLE_PERMS.get(role, frozenset())


# --------------------------------------------------------------------------- API key permissions


class ApiScope(StrEnum):
    """What an API key may do, chosen one by one when the key is created.

    Each API route declares the one scope it needs (``cueillette.api.requires``); a key without
    it gets a 403 naming the scope. The list is closed: a new kind of route adds a scope here,
    to :data:`SCOPE_PERMS`, and to the API keys page.
    """

    CUSTOMERS_READ = "customers:read"  # find customers, read a record, its consent ledger
    CUSTOMERS_WRITE = "customers:write"  # create and update customers
    CUSTOMERS_MERGE = "customers:merge"  # merge two records (managers, on the pages)
    CONSENTS_WRITE = "consents:write"  # record a grant or a withdrawal
    LOYALTY_READ = "loyalty:read"  # cards, their history, the rewards catalogue
    LOYALTY_WRITE = "loyalty:write"  # purchases, refunds, redemptions, joining the program
    REFERRALS_WRITE = "referrals:write"  # record "who sent you?"
    REFERRALS_READ = "referrals:read"  # referrals and advocates (managers, on the pages)
    REFERRALS_MANAGE = "referrals:manage"  # confirm or reject a referral
    COMMUNITY_READ = "community:read"  # posts, their history, the moderation log
    COMMUNITY_REPLY = "community:reply"  # public replies, customer link, themes
    COMMUNITY_MODERATE = "community:moderate"  # status, "we got this wrong", hide, show again
    FEEDBACK_READ = "feedback:read"  # NPS figures and answers
    FEEDBACK_MANAGE = "feedback:manage"  # detractors' follow-up (managers, on the pages)
    INSIGHTS_READ = "insights:read"  # a customer's scores, the segments, lost revenue
    EVENTS_READ = "events:read"  # sessions and their registrations
    EVENTS_WRITE = "events:write"  # register a customer, cancel, check in at the door
    EVENTS_MANAGE = "events:manage"  # offer and change sessions (managers, on the pages)
    MESSAGING_READ = "messaging:read"  # campaigns, their audience, removed addresses
    MESSAGING_SEND = "messaging:send"  # create and send campaigns, remove addresses


READ_SCOPES: frozenset[ApiScope] = frozenset(s for s in ApiScope if s.value.endswith(":read"))

# The staff permissions a scope stands for, which ``require`` checks in every action: an API
# actor has exactly the permissions of its key's scopes. The route's own scope check comes
# first (``@requires``), so e.g. loyalty:write granting SERVE_CUSTOMERS lets a till record
# purchases and joins in the actions, while creating a customer still needs a route that
# customers:write opens. Write scopes that act at the counter stand for SERVE_CUSTOMERS (the
# counter role's permission); events:write also registers walk-ins (a new customer).
SCOPE_PERMS: dict[ApiScope, frozenset[Perm]] = {
    ApiScope.CUSTOMERS_READ: frozenset(),
    ApiScope.CUSTOMERS_WRITE: frozenset({Perm.SERVE_CUSTOMERS}),
    ApiScope.CUSTOMERS_MERGE: frozenset({Perm.MERGE_CUSTOMERS}),
    ApiScope.CONSENTS_WRITE: frozenset({Perm.SERVE_CUSTOMERS}),
    ApiScope.LOYALTY_READ: frozenset(),
    ApiScope.LOYALTY_WRITE: frozenset({Perm.SERVE_CUSTOMERS}),
    ApiScope.REFERRALS_WRITE: frozenset({Perm.SERVE_CUSTOMERS}),
    ApiScope.REFERRALS_READ: frozenset({Perm.VIEW_ADVOCATES}),
    ApiScope.REFERRALS_MANAGE: frozenset({Perm.MANAGE_REFERRALS}),
    ApiScope.COMMUNITY_READ: frozenset(),
    ApiScope.COMMUNITY_REPLY: frozenset({Perm.REPLY_COMMUNITY}),
    ApiScope.COMMUNITY_MODERATE: frozenset({Perm.MODERATE_COMMUNITY}),
    ApiScope.FEEDBACK_READ: frozenset({Perm.VIEW_FEEDBACK}),
    ApiScope.FEEDBACK_MANAGE: frozenset({Perm.MANAGE_FEEDBACK}),
    ApiScope.INSIGHTS_READ: frozenset({Perm.VIEW_INSIGHTS}),
    ApiScope.EVENTS_READ: frozenset({Perm.VIEW_EVENTS}),
    ApiScope.EVENTS_WRITE: frozenset({Perm.VIEW_EVENTS, Perm.RUN_EVENTS, Perm.SERVE_CUSTOMERS}),
    ApiScope.EVENTS_MANAGE: frozenset({Perm.VIEW_EVENTS, Perm.MANAGE_EVENTS}),
    ApiScope.MESSAGING_READ: frozenset(),
    ApiScope.MESSAGING_SEND: frozenset({Perm.SEND_CAMPAIGNS}),
}

# Ready-made sets the API keys page offers (the person still sees and may change each box).
# "read" and "write" are also what keys created before scopes existed could do (see the data
# migration core 0003): every read scope, and everything.
SCOPE_PRESETS: dict[str, frozenset[ApiScope]] = {
    "till": frozenset(
        {
            ApiScope.CUSTOMERS_READ,
            ApiScope.CUSTOMERS_WRITE,
            ApiScope.CONSENTS_WRITE,
            ApiScope.LOYALTY_READ,
            ApiScope.LOYALTY_WRITE,
            ApiScope.REFERRALS_WRITE,
        }
    ),
    "read": READ_SCOPES,
    "write": frozenset(ApiScope),
}


SCOPE_VALUES: frozenset[str] = frozenset(s.value for s in ApiScope)


def scopes_perms(scopes: Iterable[str]) -> frozenset[Perm]:
    """The staff permissions that a key with ``scopes`` holds (unknown names count for none)."""
    out: set[Perm] = set()
    for name in scopes:
        if name in SCOPE_VALUES:
            out |= SCOPE_PERMS[ApiScope(name)]
    return frozenset(out)


def scope_for(perm: Perm) -> ApiScope | None:
    """The scope that grants ``perm`` (for an error message naming what a key lacks)."""
    for scope, perms in SCOPE_PERMS.items():
        if perm in perms:
            return scope
    return None


def require(actor: Any, perm: Perm, *, customer: bool = False) -> None:
    """Refuse ``actor`` unless it may do what ``perm`` stands for (``Forbidden``, 403).

    Every staff or API write action calls it first, so the permission holds whatever the door
    (page, API, task). Staff: their role (``Actor.role``) must hold ``perm`` — a staff actor
    without a role is refused. API keys: one of the key's scopes must grant it
    (:data:`SCOPE_PERMS`) — a key actor without scopes is refused too. The system passes.
    Customers are refused: their own actions (the customer space, public pages) do not call
    this; they are decided by the signed link or session that identifies them. An action that
    is both (joining, a consent, an erasure: the counter's door and the customer's) passes
    ``customer=True``, which lets the customer acting for themselves through.
    """
    from cueillette.core.errors import Forbidden

    kind = getattr(actor, "kind", None)
    if kind == "system":
        return
    if kind == "staff":
        if role_has(getattr(actor, "role", None), perm):
            return
        raise Forbidden("forbidden", _("your role does not allow this"), field="role")
    if kind == "api":
        scopes = getattr(actor, "scopes", None)
        if scopes is not None and perm in scopes_perms(scopes):
            return
        scope = scope_for(perm)
        raise Forbidden(
            "forbidden",
            _("this key lacks the permission %(scope)s") % {"scope": scope or perm.value},
        )
    if kind == "customer" and customer:
        return
    raise Forbidden("forbidden", _("this action is reserved to the business's staff"))


def require_key_perm(actor: Any, perm: Perm) -> None:
    """:func:`require` (kept for callers written before it existed)."""
    require(actor, perm)
