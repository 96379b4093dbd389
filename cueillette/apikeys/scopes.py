"""How the API keys page words each permission: groups, a short name, what it allows."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cueillette.core.permissions import ApiScope


@dataclass(frozen=True)
class ScopeText:
    scope: ApiScope
    name: Promise
    help: Promise


@dataclass(frozen=True)
class ScopeGroup:
    title: Promise
    scopes: tuple[ScopeText, ...]


S = ApiScope
GROUPS: tuple[ScopeGroup, ...] = (
    ScopeGroup(
        _("Customers"),
        (
            ScopeText(S.CUSTOMERS_READ, _("Find customers"),
                      _("Search customers, read their record and their consents.")),
            ScopeText(S.CUSTOMERS_WRITE, _("Create and update customers"),
                      _("Add a customer at the till, correct their details.")),
            ScopeText(S.CONSENTS_WRITE, _("Record consents"),
                      _("Record a customer's yes or no to each purpose, as they said it.")),
            ScopeText(S.CUSTOMERS_MERGE, _("Merge customers"),
                      _("Merge two records of the same person (managers do it on the pages).")),
        ),
    ),
    ScopeGroup(
        _("Loyalty program"),
        (
            ScopeText(S.LOYALTY_READ, _("See cards"),
                      _("A card's points, its history, the rewards catalogue.")),
            ScopeText(S.LOYALTY_WRITE, _("Record purchases and rewards"),
                      _("Purchases, refunds, rewards taken, joining the program.")),
        ),
    ),
    ScopeGroup(
        _("Referrals"),
        (
            ScopeText(S.REFERRALS_WRITE, _("Record referrals"),
                      _("Note who sent a new customer.")),
            ScopeText(S.REFERRALS_READ, _("See referrals and advocates"),
                      _("Every referral, the advocates and their reach.")),
            ScopeText(S.REFERRALS_MANAGE, _("Confirm or reject referrals"),
                      _("Decide on referrals flagged for review (managers do it on the pages).")),
        ),
    ),
    ScopeGroup(
        _("Community page"),
        (
            ScopeText(S.COMMUNITY_READ, _("Read the community page"),
                      _("Posts, their versions and replies, the moderation log.")),
            ScopeText(S.COMMUNITY_REPLY, _("Reply publicly"),
                      _("Reply as the business, link a post to a customer, tag themes.")),
            ScopeText(S.COMMUNITY_MODERATE, _("Moderate"),
                      _("Set a post's status, say “we got this wrong”, hide and show again.")),
        ),
    ),
    ScopeGroup(
        _("Customer feedback"),
        (
            ScopeText(S.FEEDBACK_READ, _("See feedback"),
                      _("The NPS, the scores and the comments customers left.")),
            ScopeText(S.FEEDBACK_MANAGE, _("Follow up on unhappy customers"),
                      _("Change a detractor's follow-up status and add notes (managers).")),
        ),
    ),
    ScopeGroup(
        _("Insights"),
        (
            ScopeText(S.INSIGHTS_READ, _("See customer insights"),
                      _("A customer's scores, the segments and the lost revenue by reason.")),
        ),
    ),
    ScopeGroup(
        _("Sessions"),
        (
            ScopeText(S.EVENTS_READ, _("See sessions"),
                      _("The sessions, their seats and who registered.")),
            ScopeText(S.EVENTS_WRITE, _("Register and check in"),
                      _("Register a customer, cancel a registration, check someone in.")),
            ScopeText(S.EVENTS_MANAGE, _("Offer sessions"),
                      _("Create and change sessions (managers do it on the pages).")),
        ),
    ),
    ScopeGroup(
        _("Messages"),
        (
            ScopeText(S.MESSAGING_READ, _("See campaigns"),
                      _("Campaigns, who they reach and who is excluded, removed addresses.")),
            ScopeText(S.MESSAGING_SEND, _("Send campaigns"),
                      _("Write, schedule and send campaigns; remove addresses.")),
        ),
    ),
)  # fmt: skip

TEXTS: dict[str, ScopeText] = {t.scope.value: t for g in GROUPS for t in g.scopes}
assert set(TEXTS) == {s.value for s in ApiScope}, "every permission needs its words here"


def names(scopes: list[str]) -> list[Promise]:
    """The short names of ``scopes`` in the page's order (unknown ones left out)."""
    return [t.name for g in GROUPS for t in g.scopes if t.scope.value in scopes]
